"""Plain maths and model-layer code, checked against references (torch.distributions, autograd, gradcheck)."""
