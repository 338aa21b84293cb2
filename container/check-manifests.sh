#!/usr/bin/env bash
# Checks the deployment examples offline, as CI does (.ci/run):
# - every compose file against the Compose Specification (vendored by check-jsonschema);
# - every Kubernetes manifest against the API of Kubernetes 1.29, strictly (an unknown field is an
#   error), with the schemas bundled by kubernetes-validate from PyPI;
# - every kustomization lists files that exist.
# (Every LUKA_REDIS_URL in them is parsed by the sidecar's own parser in DeploymentExamplesTests.)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_python_test_tools
if ! command -v kubernetes-validate >/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check kubernetes-validate 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages kubernetes-validate
  hash -r
fi

mapfile -t compose_files < <(find container -name 'compose*.yaml' | sort)
check-jsonschema --builtin-schema vendor.compose-spec "${compose_files[@]}"

mapfile -t kustomizations < <(find container/kubernetes -name kustomization.yaml | sort)
for kustomization in "${kustomizations[@]}"; do
  folder=$(dirname "$kustomization")
  mapfile -t resources < <(python3 -c '
import sys, yaml
print("\n".join(yaml.safe_load(open(sys.argv[1]))["resources"]))' "$kustomization")
  for resource in "${resources[@]}"; do
    [ -f "$folder/$resource" ] || { echo "FAIL: $kustomization lists $resource, which does not exist"; exit 1; }
    kubernetes-validate --strict --quiet -k 1.29 "$folder/$resource"
  done
  echo "ok: $kustomization (${#resources[@]} manifests)"
done
kubernetes-validate --strict --quiet -k 1.29 container/kubernetes/secret.example.yaml
echo "ok: every deployment example is valid"
