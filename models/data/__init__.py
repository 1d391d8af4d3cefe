"""Image datasets for the autoencoder: bundled offline sets, local files, opt-in downloads, user uploads.

Every loader returns a `Dataset` of float32 N×1×H×W tensors in [0, 1] with a fixed, reproducible
train / held-out split, plus a one-line `source` that tells a student honestly where the images
came from. User-facing problems raise `DataError` with a message naming the file and the fault.

Import cost matters: the app imports this package at start-up, so torchvision, scikit-learn,
mlxtend, scikit-image, scipy.io and PIL are imported only inside the functions that use them.
Nothing here unpickles files, except scikit-learn's own cache on the explicit Olivetti download.

datasets.py holds the Dataset; load.py the one entry point; mnist.py and faces.py the sets; sources.py where
local files live; uploads.py and images.py a user's own pictures, kept as uint8 in packed.py's UploadedSet (packed.py
also turns a set into the plain arrays a training worker is sent); photos.py a photo or drawing as a model input.
"""

from models.data.datasets import DATASETS, SOURCES, Dataset, heldout_only
from models.data.faces import OLIVETTI_FILE
from models.data.images import decode_gray, decode_image
from models.data.load import load_dataset
from models.data.mnist import DIGIT_NAMES, FASHION_NAMES
from models.data.packed import UploadedSet
from models.data.sources import data_dir
from models.data.uploads import MAX_UPLOAD_PIXEL_BYTES, load_user_images, read_user_images

__all__ = ["DATASETS", "DIGIT_NAMES", "FASHION_NAMES", "MAX_UPLOAD_PIXEL_BYTES", "OLIVETTI_FILE", "SOURCES", "Dataset",
           "UploadedSet", "data_dir", "decode_gray", "decode_image", "heldout_only", "load_dataset",
           "load_user_images", "read_user_images"]
