"""`DataConfig`: what a run trains on (data and source), as options."""

from __future__ import annotations

from dataclasses import dataclass

from flowmatch.errors import FlowmatchError
from flowmatch.options import check_options, option


@dataclass(frozen=True)
class DataConfig:
    data: str = option(
        "moons",
        "built-in 2D set (moons, circles, 8gaussians, checkerboard, spirals, swissroll, pinwheel, rings, thinwide, ringwidths, thinspirals, ringblob), a .npy/.npz/.csv file of shape (N, D), an image set (mnist, fashion-mnist, cifar10, digits) or an image folder; token data: discrete-checkerboard, a UTF-8 .txt file, integer tokens .npy/.npz with --vocab-size",
    )
    source: str = option(
        "gaussian",
        "'gaussian' (the path's own N(0, sigma_0^2 I); on a manifold its uniform distribution), a data set as for --data (a two-sided flow), or on the sphere 'mixture': a von Mises-Fisher mixture fitted to the training data, each data point paired with a draw from its component (--coupling component)",
    )
    source_components: int = option(0, "--source mixture: its number of components (0: chosen by the --val-data likelihood, else one per 16 training points)", min=0)
    data_dir: str = option("data", "folder with the image set's original files")
    image_size: int = option(0, "resize and centre-crop images to this size (0: the set's own; 32 for folders)", min=0)
    download: bool = option(False, "fetch mnist/fashion-mnist/cifar10 into --data-dir (checksums verified)")
    hflip: bool = option(False, "random horizontal flips of images")
    seq_len: int = option(128, "text: characters per training window (token sequences of this length)", min=1)
    vocab_size: int = option(0, "integer-token .npy/.npz data: the vocabulary size V (tokens 0..V-1); 0: point data", min=0)
    manifold: str = option(
        "euclidean",
        "the space the data live on: sphere (--data: latitude,longitude in degrees, unit vectors, or vmf-mixture / sphere-checkerboard) or torus (angles; wrapped-normal-mixture); flows follow its geodesics from its uniform distribution",
        choices=("euclidean", "sphere", "torus"),
    )
    degrees: bool = option(False, "--manifold torus: the data file's angles are in degrees (default radians)")

    def __post_init__(self):
        check_options(self)
        if self.image_size:
            from flowmatch.data.images import check_image_size

            check_image_size(self.image_size)
        if not self.data.strip():
            raise FlowmatchError("data must name a data set or a file")
        if self.source == "mixture" and self.manifold != "sphere":
            raise FlowmatchError("--source mixture is a von Mises-Fisher mixture on the sphere: it needs --manifold sphere")
        if self.degrees and self.manifold != "torus":
            raise FlowmatchError("--degrees applies to --manifold torus (sphere files are always latitude,longitude in degrees)")

    def load_options(self) -> dict:
        """Keyword options of `load_data` (image, curved and token data use them)."""
        return {
            "data_dir": self.data_dir,
            "image_size": self.image_size,
            "download": self.download,
            "hflip": self.hflip,
            "manifold": self.manifold,
            "degrees": self.degrees,
            "seq_len": self.seq_len,
            "vocab_size": self.vocab_size,
        }
