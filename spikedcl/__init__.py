"""spikedcl: the theory of contrastive learning, checked by simulation.

Spiked-covariance data, random-masking views, closed-form linear contrastive
learning and its baselines (PCA, autoencoder, GAN, HeteroPCA), subspace
metrics, downstream risks and the theoretical bounds of Ji, Deng, Nakada, Zou
& Zhang, "The Power of Contrast for Feature Learning" (JMLR 2023).

The function API (``spikedcl.fit_contrastive`` ...) loads with the package;
the heavier submodules (``spikedcl.sweep``, ``analysis``, ``plotting``,
``systems``, ``io``, ``experiments``, ``engine``, ``estimators``, ``cli``,
``configs``) and the scikit-learn estimators (``spikedcl.LinearContrastive``,
``LinearAutoencoder``, ``HeteroPCA``, ``SupervisedContrastive``) load on
first access, so ``import spikedcl`` imports neither pandas, matplotlib nor
scikit-learn.
"""

import importlib as _importlib

from . import theory
from ._array_api import namespace_for
from .asymptotics import AsymptoticPrediction, asymptotic_sin_theta
from .augment import MaskLaw, draw_mask, expected_mask_moments, random_mask, register_mask_law
from .closed_form import (
    contrastive_matrix,
    contrastive_operator,
    expected_contrastive_matrix,
    fit_autoencoder,
    fit_contrastive,
    fit_gan,
    fit_heteropca,
    fit_pca,
    replicates_per_batch,
    second_moment,
    second_moment_operator,
)
from .data import SpikedModel, haar_basis, noise_variances, register_noise_profile
from .downstream import (
    class_labels,
    classification_excess,
    draw_task,
    excess_risk,
    linear_oracle_risk,
    logistic_test_metrics,
    multiclass_test_metrics,
    ols_test_mse,
    population_risk,
    regression_excess,
    regression_labels,
)
from .eigensolvers import SymmetricOperator, block_krylov_eigh, top_eigenpairs
from .exceptions import RankDeficientWarning, SpikedModelWarning
from .forms import BatchForm, register_form
from .metrics import principal_angles, sin_theta
from .objectives import autoencoder_loss, contrastive_grad, contrastive_loss
from .population import population_fit, population_matrix
from .random import cell_seed, check_rng
from .results import FitResult
from .stats import ViewStatistics
from .streaming import StreamedMoments, fit_contrastive_streamed, fit_pca_streamed, streamed_moments
from .supervised import (
    fit_supervised_contrastive,
    multiclass_labels,
    sample_class_means,
    supervised_matrix,
    task_pair,
)

__version__ = "0.1.0"

__all__ = [
    "SpikedModel",
    "haar_basis",
    "noise_variances",
    "register_noise_profile",
    "draw_mask",
    "random_mask",
    "MaskLaw",
    "register_mask_law",
    "BatchForm",
    "register_form",
    "ViewStatistics",
    "expected_mask_moments",
    "second_moment",
    "contrastive_matrix",
    "expected_contrastive_matrix",
    "fit_contrastive",
    "fit_pca",
    "fit_autoencoder",
    "fit_gan",
    "fit_heteropca",
    "contrastive_operator",
    "second_moment_operator",
    "replicates_per_batch",
    "top_eigenpairs",
    "block_krylov_eigh",
    "SymmetricOperator",
    "streamed_moments",
    "StreamedMoments",
    "fit_contrastive_streamed",
    "fit_pca_streamed",
    "namespace_for",
    "population_fit",
    "population_matrix",
    "FitResult",
    "contrastive_loss",
    "contrastive_grad",
    "autoencoder_loss",
    "sin_theta",
    "principal_angles",
    "draw_task",
    "regression_labels",
    "class_labels",
    "population_risk",
    "linear_oracle_risk",
    "excess_risk",
    "ols_test_mse",
    "logistic_test_metrics",
    "multiclass_test_metrics",
    "regression_excess",
    "classification_excess",
    "fit_supervised_contrastive",
    "supervised_matrix",
    "task_pair",
    "multiclass_labels",
    "sample_class_means",
    "theory",
    "asymptotic_sin_theta",
    "AsymptoticPrediction",
    "cell_seed",
    "check_rng",
    "SpikedModelWarning",
    "RankDeficientWarning",
    "__version__",
]

#: submodules loaded on first attribute access (``spikedcl.sweep`` ...)
_LAZY_MODULES = frozenset({
    "analysis", "cli", "configs", "engine", "estimators", "experiments", "io", "plotting", "sweep", "systems",
})
#: names loaded from a submodule on first access (not in ``__all__``: they need scikit-learn)
_LAZY_NAMES = {
    "LinearContrastive": "estimators",
    "LinearAutoencoder": "estimators",
    "HeteroPCA": "estimators",
    "SupervisedContrastive": "estimators",
}


def __getattr__(name):
    if name in _LAZY_MODULES:
        return _importlib.import_module(f".{name}", __name__)
    if name in _LAZY_NAMES:
        module = _LAZY_NAMES[name]
        try:
            return getattr(_importlib.import_module(f".{module}", __name__), name)
        except ModuleNotFoundError as exc:
            if exc.name != "sklearn" and not (exc.name or "").startswith("sklearn."):
                raise
            raise ImportError(f"spikedcl.{name} needs scikit-learn: pip install 'spikedcl[sklearn]'") from exc
    raise AttributeError(f"module 'spikedcl' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _LAZY_MODULES | set(_LAZY_NAMES))
