"""Certificates: guaranteed Lipschitz bounds and the certified radius from the latent margin."""

from lpcbench.certify.certificate import Certificate, certified_radius, collapse_radius_estimate, empirical_local_lipschitz, latent_margin
from lpcbench.certify.lipschitz import NotCertifiable, lipschitz_bound

__all__ = [
    "Certificate",
    "NotCertifiable",
    "certified_radius",
    "collapse_radius_estimate",
    "empirical_local_lipschitz",
    "latent_margin",
    "lipschitz_bound",
]
