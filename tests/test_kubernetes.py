"""deploy/kubernetes/autograde-job.yaml against Kubernetes' own schemas, offline: kubernetes-validate (PyPI) ships
the schemas of each Kubernetes version in the package. --strict (no unknown field) passes for every version from the
minimum the README names (1.33: user namespaces, hostUsers and procMount on by default) to the newest shipped, and
fails for 1.27, which has no backoffLimitPerIndex nor podReplacementPolicy (so the check can fail)."""
import kubernetes_validate
import pytest
import yaml
from packaging.version import Version

import course

MANIFEST = course.ROOT / "deploy" / "kubernetes" / "autograde-job.yaml"
MINIMUM = "1.33"  # README (PostgreSQL, shards: the sandbox on a cluster) and the manifest's comment name it


def versions():
    from importlib.resources import files
    names = [p.name for p in files("kubernetes_validate").joinpath("kubernetes-json-schema").iterdir()]
    return sorted({n.split("-")[0].lstrip("v") for n in names if n.endswith("-local-strict")}, key=Version)


def job():
    [doc] = list(yaml.safe_load_all(MANIFEST.read_text()))
    return doc


@pytest.mark.parametrize("version", [v for v in versions() if Version(v) >= Version(MINIMUM)])
def test_the_indexed_job_is_valid_for_every_version_from_the_minimum(version):
    kubernetes_validate.validate(job(), version, strict=True)


def test_an_older_kubernetes_lacks_the_jobs_per_index_fields():
    with pytest.raises(kubernetes_validate.ValidationError, match="backoffLimitPerIndex"):
        kubernetes_validate.validate(job(), "1.27.0", strict=True)


def test_the_readme_and_the_manifest_name_the_minimum():
    for text in ((course.ROOT / "README.md").read_text(encoding="utf-8"), MANIFEST.read_text()):
        assert f"Kubernetes {MINIMUM} or newer" in " ".join(text.replace("#", " ").split())
