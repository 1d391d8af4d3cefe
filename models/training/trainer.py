"""Training: preloaded tensors sliced into batches, a seed, held-out loss each epoch, the best epoch kept.
The command line (`python -m models.train`) is models/training/cli.py; what a run gives back and what a
checkpoint records of it, models/training/result.py.

The weights that come back are those of the epoch with the lowest held-out loss (early stopping on the
held-out images when TrainConfig.patience is set). A NaN loss, or a held-out loss that explodes, ends the run
and flags it as diverged.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from models.autoencoders import Autoencoder
from models.config import TrainConfig
from models.errors import TrainingError
from models.training.result import TrainResult

# A held-out loss this many times the best so far (or the untrained model's) means the run blew up.
DIVERGENCE_FACTOR = 10.0


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@torch.no_grad()
def evaluate(model: Autoencoder, x: torch.Tensor, batch_size: int = 1000, seed: int = 0) -> dict[str, float]:
    """Mean loss terms per sample on x: clean inputs, and a fixed seed for a VAE's sampled z, so the
    same model and data always give the same number."""
    was_training = model.training
    model.eval()
    device = model.device
    generator = torch.Generator(device=device).manual_seed(seed)
    sums: dict[str, float] = {}
    try:
        for i in range(0, len(x), batch_size):
            batch = x[i:i + batch_size].to(device)
            with torch.enable_grad() if model.config.contractive_weight > 0 else torch.no_grad():
                terms = model.loss(batch, corrupt_input=False, generator=generator)
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value.item() * len(batch)
    finally:
        model.train(was_training)
    return {key: value / len(x) for key, value in sums.items()}


def shift_images(x: torch.Tensor, max_shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each image moved by its own random whole-pixel offset in [-max_shift, max_shift]², edges repeated."""
    if max_shift <= 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, mode="replicate")
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator, device=x.device)
    rows = dy[:, None] + torch.arange(h, device=x.device)
    cols = dx[:, None] + torch.arange(w, device=x.device)
    picked = padded[torch.arange(n, device=x.device)[:, None, None], :, rows[:, :, None], cols[:, None, :]]
    return picked.permute(0, 3, 1, 2).contiguous()  # advanced indexing put the channel axis last


def make_adam(model: Autoencoder, config: TrainConfig) -> torch.optim.Optimizer:
    # The fused kernel does Adam's update in one pass over the weights: a quarter of a dense VAE's step time
    # otherwise (benchmarks/train_speed.py).
    try:
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True)
    except (RuntimeError, TypeError):  # a device or dtype without the fused kernel
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def train(model: Autoencoder, data, config: TrainConfig,
          on_progress: Callable[[dict], None] | None = None,
          should_stop: Callable[[], bool] | None = None,
          device: str | torch.device = "cpu",
          on_step: Callable[[dict], None] | None = None, step_every: int = 10) -> TrainResult:
    """Train `model` in place on data.train, evaluating on data.test after every epoch.

    on_progress(stats) is called after each epoch with epoch, epochs, train_loss, heldout_loss, terms, seconds
    and best_epoch; on_step(stats) every `step_every` batches with epoch, batch, batches, train_loss (the
    epoch's running mean) and seconds. should_stop() is asked after every batch.
    The model ends with the weights of its best held-out epoch. A NaN loss, or a held-out loss more than
    DIVERGENCE_FACTOR × the best so far, stops the run and sets result.diverged.
    """
    config.validate()
    train_x, test_x = _checked_split(data, model)
    home = model.device
    device = pick_device(device) if isinstance(device, str) else device
    model.to(device)
    train_x, test_x = train_x.to(device), test_x.to(device)
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    run = _Run(model, config, train_x, test_x, device, on_step, should_stop, step_every)
    try:
        run.result.initial_heldout_loss = run.best_loss = evaluate(model, test_x, seed=config.seed)["loss"]
        for epoch in range(1, config.epochs + 1):
            total = run.train_epoch(epoch)
            if run.result.stopped or run.end_epoch(epoch, total, on_progress):
                break
        model.load_state_dict(run.best_state)
    finally:
        model.eval().to(home)
        torch.set_num_threads(threads)
        run.result.seconds = time.perf_counter() - run.start
    return run.result


def _checked_split(data, model: Autoencoder) -> tuple[torch.Tensor, torch.Tensor]:
    """The (train, held-out) images of a Dataset or a tuple, checked against the model's input shape."""
    train_x, test_x = data if isinstance(data, tuple) else (data.train, data.test)
    if len(train_x) == 0 or len(test_x) == 0:
        raise TrainingError("training needs at least one training and one held-out image")
    if tuple(train_x.shape[1:]) != tuple(model.config.input_shape):
        raise TrainingError(f"the data's images are {tuple(train_x.shape[1:])} but the model expects "
                            f"{tuple(model.config.input_shape)}")
    return train_x, test_x


class _Run:
    """One call of train(): what its epochs share (generator, optimiser, weight average, best weights, result)."""

    def __init__(self, model: Autoencoder, config: TrainConfig, train_x: torch.Tensor, test_x: torch.Tensor,
                 device: torch.device, on_step: Callable[[dict], None] | None,
                 should_stop: Callable[[], bool] | None, step_every: int):
        self.model, self.config, self.train_x, self.test_x, self.device = model, config, train_x, test_x, device
        self.on_step, self.should_stop, self.step_every = on_step, should_stop, step_every
        self.generator = torch.Generator(device=device).manual_seed(config.seed)
        self.optimizer = make_adam(model, config)
        self.batches = math.ceil(len(train_x) / config.batch_size)
        self.result = TrainResult(best_epoch=0)
        self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.best_loss = math.inf  # the untrained model's held-out loss, once train() has scored it
        self.average = WeightAverage(model, config.ema) if config.ema > 0 else None
        self.start = time.perf_counter()

    def train_epoch(self, epoch: int) -> float:
        """One pass over the shuffled training images; returns the sum of the per-image losses. A NaN loss
        or a stop request ends it early, with result.stopped saying why."""
        model, config, result = self.model, self.config, self.result
        model.train()
        # index_select copies whole rows: a third of advanced indexing's time for 4,500 digits
        order = torch.randperm(len(self.train_x), generator=self.generator, device=self.device)
        shuffled = self.train_x.index_select(0, order)
        total = 0.0
        for b in range(self.batches):
            batch = shift_images(shuffled[b * config.batch_size:(b + 1) * config.batch_size], config.shift,
                                 self.generator)
            value = self._step(batch, (epoch - 1) * self.batches + b)
            if not math.isfinite(value):
                result.diverged = True
                result.stopped = (f"the loss became {value} at epoch {epoch}, batch {b + 1}; "
                                  f"{_weights_of(result.best_epoch)} were restored. Try a smaller learning rate.")
                break
            total += value * len(batch)
            if self.on_step is not None and (b + 1) % self.step_every == 0:
                seen = min((b + 1) * config.batch_size, len(self.train_x))
                self.on_step({"epoch": epoch, "batch": b + 1, "batches": self.batches, "train_loss": total / seen,
                              "seconds": time.perf_counter() - self.start})
            if self.should_stop is not None and self.should_stop():
                result.stopped = f"stopped by request during epoch {epoch}; kept {_weights_of(result.best_epoch)}"
                break
        return total

    def _step(self, batch: torch.Tensor, step: int) -> float:
        """One gradient step on a batch; returns its loss, and takes no step when that is not finite."""
        config, model = self.config, self.model
        _set_lr(self.optimizer, config, step / (config.epochs * self.batches))
        with _mixed_precision(self.device, config):
            terms = model.loss(batch, generator=self.generator)
        value = terms["loss"].item()  # one host sync per batch: free on a CPU, needed for the NaN guard
        if not math.isfinite(value):
            return value
        self.optimizer.zero_grad(set_to_none=True)
        _warmed_loss(terms, model, config, step / self.batches).backward()
        self.optimizer.step()
        if self.average is not None:
            self.average.update()
        return value

    def end_epoch(self, epoch: int, total: float, on_progress: Callable[[dict], None] | None) -> bool:
        """Score the epoch on the held-out images, keep its weights if they are the best so far, report it;
        True when the run ends here (divergence, early stop, time cap)."""
        terms = self._score_and_keep(epoch)
        if terms is None:
            return True
        stats = {"epoch": epoch, "epochs": self.config.epochs, "train_loss": total / len(self.train_x),
                 "heldout_loss": terms["loss"], "terms": terms, "seconds": time.perf_counter() - self.start,
                 "best_epoch": self.result.best_epoch}
        self.result.history.append(stats)
        if on_progress is not None:
            on_progress(stats)
        return self._stops_after(epoch)

    def _score_and_keep(self, epoch: int) -> dict[str, float] | None:
        """The held-out loss terms of this epoch's weights (the averaged ones with EMA), copied to the best
        weights when lower than any before; None, with the run marked diverged, when the loss exploded."""
        result, average = self.result, self.average
        if average is not None:
            average.swap()  # score, and keep, the averaged weights
        terms = evaluate(self.model, self.test_x, seed=self.config.seed)
        heldout = terms["loss"]
        if not math.isfinite(heldout) or heldout > DIVERGENCE_FACTOR * max(self.best_loss, 1e-12):
            result.diverged = True
            result.stopped = (f"the held-out loss exploded to {heldout:.4g} at epoch {epoch} (best so far "
                              f"{self.best_loss:.4g}); kept {_weights_of(result.best_epoch)}. "
                              f"Try a smaller learning rate.")
            return None  # no swap back: train() restores the best weights next
        if heldout < self.best_loss:
            self.best_loss, result.best_epoch = heldout, epoch
            for key, value in self.model.state_dict().items():
                self.best_state[key].copy_(value)
        if average is not None:
            average.swap()  # back to the raw weights to go on training
        return terms

    def _stops_after(self, epoch: int) -> bool:
        """Early stop or time cap after this epoch (result.stopped says which; the last epoch is no stop)."""
        config, result = self.config, self.result
        if config.patience is not None and epoch - result.best_epoch >= config.patience and epoch < config.epochs:
            result.stopped = (f"early stop: no better held-out loss in the {config.patience} epochs after "
                              f"epoch {result.best_epoch}, whose weights were kept")
            return True
        if config.max_seconds is not None and time.perf_counter() - self.start > config.max_seconds:
            if epoch < config.epochs:
                result.stopped = f"reached the {config.max_seconds:g}-second time cap after epoch {epoch}"
            return True
        return False


class WeightAverage:
    """An exponential moving average of a model's parameters (Polyak averaging), with the usual warm-up
    min(decay, (1 + t) / (10 + t)) so early steps are not tied to the random start."""

    def __init__(self, model: Autoencoder, decay: float):
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.shadow = [p.detach().clone() for p in self.params]
        self.decay, self.steps = decay, 0

    @torch.no_grad()
    def update(self) -> None:
        self.steps += 1
        decay = min(self.decay, (1 + self.steps) / (10 + self.steps))
        torch._foreach_lerp_(self.shadow, [p.detach() for p in self.params], 1 - decay)

    @torch.no_grad()
    def swap(self) -> None:
        """Exchange the model's weights and the average (call twice to get back)."""
        for p, s in zip(self.params, self.shadow):
            tmp = p.detach().clone()
            p.copy_(s)
            s.copy_(tmp)


def native_bfloat16(device: str | torch.device = "cpu") -> bool:
    """Whether this machine does bfloat16 arithmetic in hardware (a CPU with AVX-512 BF16 or AMX; a CUDA GPU
    that supports it). Elsewhere precision="bfloat16" still trains, emulated and slower than float32."""
    device = torch.device(device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            return False
        with torch.cuda.device(device):
            return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type != "cpu":
        return False
    probes = (getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
    return any(bool(probe()) for probe in probes if probe is not None)


def _mixed_precision(device: torch.device, config: TrainConfig):
    """bfloat16 autocast for the training step's forward pass (its backward follows the same dtypes); the
    loss terms, the optimiser and every held-out evaluation stay in float32."""
    if config.precision == "bfloat16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _weights_of(epoch: int) -> str:
    return f"the weights of epoch {epoch}" if epoch else "the untrained starting weights"


def _set_lr(optimizer: torch.optim.Optimizer, config: TrainConfig, progress: float) -> None:
    if config.lr_schedule == "cosine":
        for group in optimizer.param_groups:
            group["lr"] = config.lr * 0.5 * (1 + math.cos(math.pi * progress))


def _warmed_loss(terms: dict[str, torch.Tensor], model: Autoencoder, config: TrainConfig,
                 epochs_done: float) -> torch.Tensor:
    """The loss to descend: during KL warm-up, β·KL is scaled by the fraction of the warm-up done."""
    if config.kl_warmup <= 0 or "kl" not in terms or epochs_done >= config.kl_warmup:
        return terms["loss"]
    return terms["loss"] - (1 - epochs_done / config.kl_warmup) * model.config.beta * terms["kl"]
