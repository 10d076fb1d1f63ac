"""Offline checks of deploy/k8s/ (run by deploy/k8s-check.sh, which installs the pinned tools).

1. Builds every kustomization that is meant to be applied or reused: base/, base/migrate/ and each folder under
   overlays/ (migrate/ included), with `kubectl kustomize` (no cluster, no network).
2. Validates every built document: built-in kinds with kubernetes-validate (strict: an unknown field fails, as
   `kubectl apply` refuses it), custom resources against the openAPIV3Schema of their CRD in crds/ (made strict
   the same way: the API server rejects unknown fields unless the schema keeps them). A kind that neither knows
   fails: a typo in a kind or apiVersion, or a custom resource whose CRD is not kept in crds/.
3. Project checks on the built documents: probes, resources and a non-root read-only securityContext on every pod;
   every setting of .env.sample reaching the binary that reads it (secrets only through the Secret); the media store
   complete in every container that opens it, the api and media workers (local: MEDIA_ROOT on a mounted claim, the
   same claim for all; s3: bucket, region and both keys, no volume); the api's upload spool (VIDEO_UPLOAD_DIR) and
   media workers' scratch (TRANSCODE_WORK_DIR) on disk emptyDirs with room for VIDEO_MAX_BYTES; workers one per
   queue, each with a KEDA ScaledObject on its real queue (the media queue counting running encodes, at most
   TRANSCODE_CONCURRENCY per replica); the api autoscaled with a disruption budget; the scheduler with two replicas;
   every component scraped; the migration Job in its own build, with the application's configuration.

Usage: check_manifests.py --kubectl PATH --root deploy/k8s --env-sample .env.sample [--kubernetes-version 1.37.0]
Prints one line per build and every problem found; exits 1 when there is any.
"""

import argparse
import copy
import functools
import ipaddress
import pathlib
import posixpath
import re
import subprocess
import sys

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import yaml

SECRET_NAME = "online-cinema-secrets"
# The secrets of the project (README, "Configuration"): never in a ConfigMap or a literal value.
SECRETS = {
    "SECRET_KEY_ACCESS",
    "SECRET_KEY_REFRESH",
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
    "RABBITMQ_URL",
    "EMAIL_HOST_PASSWORD",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    # no pod reads it: KEDA measures the media queue with it
    "RABBITMQ_MANAGEMENT_URL",
}
# What each binary (or role: a media worker) reads from the Secret; the required ones must not be `optional`.
# `api migrate` parses the whole api configuration, so it needs what `api serve` needs. A media worker also reads
# Redis (it announces a video's state changes). The S3 keys are not here: only the api and media workers open the
# media store (STORE_OPENERS), and need them only with STORAGE_BACKEND=s3 (check_storage); the storage settings parse
# without them.
API_SECRETS = {
    "required": {"SECRET_KEY_ACCESS", "SECRET_KEY_REFRESH", "POSTGRES_PASSWORD", "RABBITMQ_URL"},
    "optional": {"REDIS_PASSWORD", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"},
}
WORKER_SECRETS = {"required": {"POSTGRES_PASSWORD", "RABBITMQ_URL"}, "optional": {"EMAIL_HOST_PASSWORD"}}
BINARY_SECRETS = {
    "api": API_SECRETS,
    "migrate": API_SECRETS,
    "worker": WORKER_SECRETS,
    "media worker": {**WORKER_SECRETS, "optional": WORKER_SECRETS["optional"] | {"REDIS_PASSWORD"}},
    "scheduler": {"required": {"POSTGRES_PASSWORD", "RABBITMQ_URL"}, "optional": set()},
}
# The address each long-running binary listens on for its probes and metrics, and the api's HTTP address.
OPS_ADDRESS = {"api": "METRICS_ADDR", "worker": "WORKER_ADDR", "scheduler": "SCHEDULER_ADDR"}
# The work queues of shared/src/jobs/topology.rs (WORKER_QUEUES names).
QUEUES = {"email", "maintenance", "media"}
# The queue of the encodes: its workers open the media store and run ffmpeg.
MEDIA_QUEUE = "media"
STORE_OPENERS = {"api", "media worker"}
# The folders a role writes large files to, with how many uploads of VIDEO_MAX_BYTES each must hold at least: the
# api spools an upload while ffprobe checks it; a media worker downloads the source of each of its
# TRANSCODE_CONCURRENCY encodes (and writes the renditions beside it).
SCRATCH = {"api": "VIDEO_UPLOAD_DIR", "media worker": "TRANSCODE_WORK_DIR"}
# The binaries' defaults, for a setting the ConfigMap leaves out.
DEFAULT_VIDEO_MAX_BYTES = 4 * 1024**3
# The Secret key KEDA's rabbitmq scaler reads its `host` from, by the trigger's protocol.
SCALER_HOST_KEY = {"amqp": "RABBITMQ_URL", "http": "RABBITMQ_MANAGEMENT_URL"}
UID = 10001
MIN_WORKER_GRACE_SECONDS = 40  # the worker drains for 30 s on SIGTERM
PER_DEPLOYMENT_ENV = {"WORKER_QUEUES"}
S3_KEYS = ("S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")
# The bucket names shared/src/config/storage.rs accepts.
BUCKET = re.compile(r"[a-z0-9.-]{3,63}")
# A Kubernetes quantity (sizeLimit and the like): a decimal number and a binary or decimal suffix, or an exponent.
QUANTITY = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?")
QUANTITY_SUFFIX = {
    **{suffix: 1024**power for power, suffix in enumerate(("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
    **{suffix: 1000**power for power, suffix in enumerate(("k", "M", "G", "T", "P", "E"), start=1)},
    "m": 0.001,
}


class Problems:
    def __init__(self):
        self.items = []

    def add(self, where, message):
        self.items.append(f"{where}: {message}")


def load_env_sample(path):
    """The names of the settings .env.sample sets (commented-out lines are optional settings)."""
    names = set()
    for line in pathlib.Path(path).read_text().splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=", line)
        if match:
            names.add(match.group(1))
    return names


def kustomize(kubectl, folder):
    result = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip() or f"kubectl kustomize {folder} failed")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def strict_schema(schema):
    """The CRD schema with unknown fields refused wherever the API server would prune or refuse them."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def load_crds(folder, version, problems):
    """(group/version, kind) -> validator, for every served version of every CRD in the folder."""
    validators = {}
    for path in sorted(pathlib.Path(folder).glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc:
                continue
            where = f"crds/{path.name}"
            if doc.get("kind") != "CustomResourceDefinition":
                problems.add(where, f"not a CustomResourceDefinition ({doc.get('kind')})")
                continue
            validate_builtin(doc, version, where, problems)
            spec = doc["spec"]
            for served in spec["versions"]:
                if not served.get("served", False):
                    continue
                schema = served["schema"]["openAPIV3Schema"]
                key = (f"{spec['group']}/{served['name']}", spec["names"]["kind"])
                # OpenAPI 3.0 schemas are JSON Schema draft 4 with extensions (x-kubernetes-*, nullable), which the
                # validator ignores.
                validators[key] = jsonschema.Draft4Validator(strict_schema(schema))
    return validators


def validate_builtin(doc, version, where, problems):
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.utils.SchemaNotFoundError:
        problems.add(
            where,
            f"unknown kind {doc.get('apiVersion')} {doc.get('kind')}: no Kubernetes {version} schema "
            "and no CRD in deploy/k8s/crds/",
        )
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(part) for part in error.path) or "(document)"
        problems.add(where, f"{path}: {error.message}")


def validate_document(doc, crds, version, where, problems):
    key = (doc.get("apiVersion"), doc.get("kind"))
    validator = crds.get(key)
    if validator is None:
        validate_builtin(doc, version, where, problems)
        return
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
        path = ".".join(str(part) for part in error.path) or "(document)"
        problems.add(where, f"{path}: {error.message}")


def name_of(doc):
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def pod_spec(doc):
    if doc.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return doc["spec"]["template"]["spec"]
    return None


def selector_matches(selector, labels):
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def quantity(text):
    """The value of a Kubernetes quantity ("20Gi", "64Mi", "1e9"), or None when it is not one."""
    match = QUANTITY.fullmatch(str(text).strip())
    if not match:
        return None
    number, suffix = float(match.group(1)), match.group(2) or ""
    if suffix[:1] in ("e", "E"):
        return number * 10 ** int(suffix[1:])
    return number * QUANTITY_SUFFIX[suffix]


def setting_number(env, name, default):
    """A numeric setting as the container sees it (the binary's default when unset), or None when not a number."""
    source = env.get(name)
    if source is None:
        return default
    try:
        return int(str(source[1]).strip())
    except ValueError:
        return None


def binary_of(container):
    command = (container.get("command") or []) + (container.get("args") or [])
    if not command:
        return None
    if command[0] == "api":
        return "migrate" if command[1:2] == ["migrate"] else "api"
    return command[0] if command[0] in ("worker", "scheduler") else None


def role_of(binary, env):
    """The binary, or `media worker` for a worker of the media queue (it also opens the store and Redis)."""
    if binary == "worker" and (env.get("WORKER_QUEUES") or (None, None))[1] == MEDIA_QUEUE:
        return "media worker"
    return binary


class Build:
    """One `kubectl kustomize` result and the lookups the checks need."""

    def __init__(self, label, docs):
        self.label = label
        self.docs = docs
        self.is_overlay = label.startswith("overlays/")
        # Only the dev overlay generates a (throw-away) Secret; production's is made by the operator.
        self.may_hold_secret = label.startswith("overlays/dev")

    def of_kind(self, kind):
        return [doc for doc in self.docs if doc.get("kind") == kind]

    def named(self, kind, name):
        for doc in self.of_kind(kind):
            if doc["metadata"]["name"] == name:
                return doc
        return None

    def secret_keys(self):
        """The keys of the build's Secret, or None when the build has none (the operator makes it)."""
        secret = self.named("Secret", SECRET_NAME)
        if secret is None:
            return None
        return set(secret.get("data") or {}) | set(secret.get("stringData") or {})

    def environment(self, container):
        """name -> ("config", value) | ("value", value) | ("secret", secretKeyRef) as the container sees it."""
        env = {}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                config_map = self.named("ConfigMap", source["configMapRef"]["name"])
                for key, value in ((config_map or {}).get("data") or {}).items():
                    env[key] = ("config", value)
            if "secretRef" in source:
                env["*"] = ("secretRef", source["secretRef"]["name"])
        # `env` entries win over `envFrom`, as in the kubelet.
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = ("value", item["value"])
            elif "secretKeyRef" in item.get("valueFrom", {}):
                env[item["name"]] = ("secret", item["valueFrom"]["secretKeyRef"])
            else:
                env[item["name"]] = ("other", item.get("valueFrom"))
        return env


def check_pod(build, doc, settings, problems):
    """Checks the pod template; returns the claim at MEDIA_ROOT of each container that opens a local media store."""
    where = f"{build.label}: {name_of(doc)}"
    claims = {}
    spec = pod_spec(doc)
    pod_security = spec.get("securityContext", {})
    if spec.get("automountServiceAccountToken") is not False:
        problems.add(where, "automountServiceAccountToken must be false (the pods never call the Kubernetes API)")
    volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
    for container in spec.get("initContainers", []) + spec["containers"]:
        at = f"{where}: container {container['name']}"
        check_resources(container, at, problems)
        check_security(pod_security, container.get("securityContext", {}), at, problems)
        mounts = {mount["mountPath"]: mount["name"] for mount in container.get("volumeMounts", [])}
        if "emptyDir" not in volumes.get(mounts.get("/tmp"), {}):
            problems.add(at, "/tmp must be an emptyDir (the root filesystem is read-only)")
        binary = binary_of(container)
        if binary is None:
            problems.add(at, "command must run api, api migrate, worker or scheduler")
            continue
        env = build.environment(container)
        role = role_of(binary, env)
        check_environment(build, binary, env, settings, at, problems)
        if doc["kind"] == "Deployment":
            check_probes(container, at, problems)
            check_addresses(binary, env, container, at, problems)
        if role in STORE_OPENERS:
            claims[at] = check_storage(build, role, env, volumes, mounts, at, problems)
        if role in SCRATCH:
            check_scratch(role, env, volumes, mounts, at, problems)
        if build.is_overlay:
            image = container.get("image", "")
            tag = image.rsplit("/", 1)[-1]
            if "@" not in tag and (":" not in tag or tag.endswith(":latest")):
                problems.add(at, f"image {image!r} needs a fixed tag or digest (not latest)")
    return {at: claim for at, claim in claims.items() if claim}


def check_resources(container, at, problems):
    resources = container.get("resources", {})
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            if resource not in resources.get(kind, {}):
                problems.add(at, f"resources.{kind}.{resource} missing")


def check_security(pod, container, at, problems):
    def setting(key):
        return container.get(key, pod.get(key))

    if setting("runAsNonRoot") is not True:
        problems.add(at, "runAsNonRoot must be true")
    if setting("runAsUser") != UID:
        problems.add(at, f"runAsUser must be {UID} (the image's user)")
    if (setting("seccompProfile") or {}).get("type") != "RuntimeDefault":
        problems.add(at, "seccompProfile must be RuntimeDefault")
    if container.get("readOnlyRootFilesystem") is not True:
        problems.add(at, "readOnlyRootFilesystem must be true")
    if container.get("allowPrivilegeEscalation") is not False:
        problems.add(at, "allowPrivilegeEscalation must be false")
    if "ALL" not in container.get("capabilities", {}).get("drop", []):
        problems.add(at, "capabilities must drop ALL")


def check_probes(container, at, problems):
    ports = {port.get("name"): port["containerPort"] for port in container.get("ports", [])}
    for probe, path in (("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready")):
        get = container.get(probe, {}).get("httpGet")
        if not get:
            problems.add(at, f"{probe} missing (an HTTP GET of {path})")
            continue
        if get.get("path") != path:
            problems.add(at, f"{probe} must GET {path}, not {get.get('path')}")
        port = get.get("port")
        if port != "metrics" and port != ports.get("metrics"):
            problems.add(at, f"{probe} must use the internal `metrics` port, not {port}")


def check_environment(build, binary, env, settings, at, problems):
    if "*" in env:
        problems.add(at, "envFrom secretRef hands every secret to every binary: name each with secretKeyRef")
    for name in sorted(settings - SECRETS - PER_DEPLOYMENT_ENV):
        if name not in env:
            problems.add(at, f"{name} (in .env.sample) reaches the container neither from the ConfigMap nor env")
    for name in sorted(SECRETS):
        source = env.get(name)
        if source and source[0] != "secret":
            problems.add(at, f"{name} is a secret: take it from {SECRET_NAME} with secretKeyRef, not a {source[0]}")
    role = role_of(binary, env)
    needs = BINARY_SECRETS[role]
    for name in sorted(needs["required"] | needs["optional"]):
        check_secret_reference(build, role, env, name, name in needs["required"], at, problems)
    queues = env.get("WORKER_QUEUES")
    if binary == "worker" and (not queues or queues[0] != "value" or queues[1] not in QUEUES):
        problems.add(at, f"WORKER_QUEUES must name exactly one queue of {sorted(QUEUES)} (one Deployment each)")


def check_secret_reference(build, binary, env, name, required, at, problems):
    source = env.get(name)
    if not source or source[0] != "secret":
        problems.add(at, f"{name} missing: {binary} reads it (secretKeyRef to {SECRET_NAME})")
        return
    ref = source[1]
    if ref.get("name") != SECRET_NAME or ref.get("key") != name:
        problems.add(at, f"{name} must come from {SECRET_NAME}, key {name}")
    if required and ref.get("optional"):
        problems.add(at, f"{name} is required by {binary}: the reference must not be optional")
    keys = build.secret_keys()
    if keys is not None and not ref.get("optional") and name not in keys:
        problems.add(at, f"{name} is not in the build's Secret {SECRET_NAME}")


def check_storage(build, role, env, volumes, mounts, at, problems):
    """The media store of an api or media worker container, as STORAGE_BACKEND chooses it: every replica of both must
    see the same files. Returns the claim mounted at MEDIA_ROOT with local storage (None otherwise)."""

    def value(name):
        return (env.get(name) or (None, ""))[1]

    # Unset is the binary's default; set, it must name a backend (the binary refuses an empty one too).
    backend = (env.get("STORAGE_BACKEND") or (None, "local"))[1]
    media_root = value("MEDIA_ROOT")
    claim = volumes.get(mounts.get(media_root), {}).get("persistentVolumeClaim", {}).get("claimName")
    if backend == "local":
        # A folder of the pod would hold each replica's uploads only (and the root filesystem is read-only).
        if not claim or not build.named("PersistentVolumeClaim", claim):
            problems.add(
                at,
                f"MEDIA_ROOT ({media_root}) must be a mounted PersistentVolumeClaim of the build (STORAGE_BACKEND=local)",
            )
    elif backend == "s3":
        if not BUCKET.fullmatch(value("S3_BUCKET")):
            problems.add(
                at,
                f"S3_BUCKET={value('S3_BUCKET')!r}: STORAGE_BACKEND=s3 needs a bucket (3 to 63 of a-z, 0-9, '-', '.')",
            )
        if not value("S3_REGION").strip():
            problems.add(at, "S3_REGION is empty: STORAGE_BACKEND=s3 needs the bucket's region")
        endpoint = value("S3_ENDPOINT_URL").strip()
        if endpoint and not re.match(r"https?://[^/]", endpoint):
            problems.add(at, f"S3_ENDPOINT_URL={endpoint!r}: an http(s) URL, or empty for AWS")
        for name in S3_KEYS:
            check_secret_reference(build, f"{role} with STORAGE_BACKEND=s3", env, name, True, at, problems)
        if claim:
            problems.add(
                at,
                f"MEDIA_ROOT is the PersistentVolumeClaim {claim}, unused with STORAGE_BACKEND=s3: drop the claim "
                "and the mount (components/s3-media)",
            )
    else:
        problems.add(at, f"STORAGE_BACKEND={backend!r}: local or s3")
    if value("STORAGE_DELIVERY") == "presigned" and backend != "s3":
        problems.add(at, "STORAGE_DELIVERY=presigned needs STORAGE_BACKEND=s3")
    return claim if backend == "local" else None


def check_scratch(role, env, volumes, mounts, at, problems):
    """The folder where the role writes whole videos: a disk emptyDir (the root filesystem is read-only) whose
    sizeLimit, when it has one, holds an upload of VIDEO_MAX_BYTES (one per concurrent encode for a media worker)."""
    variable = SCRATCH[role]
    # unset, the binaries use the system's temporary folder
    folder = posixpath.normpath((env.get(variable) or (None, "/tmp"))[1] or "/tmp")
    # the mount that holds the folder: the longest mount path that is the folder or one of its parents
    holders = [
        path for path in mounts if folder == posixpath.normpath(path) or folder.startswith(path.rstrip("/") + "/")
    ]
    volume = volumes.get(mounts[max(holders, key=len)]) if holders else None
    if volume is None or "emptyDir" not in volume:
        problems.add(at, f"{variable}={folder!r} must be on a mounted emptyDir (the root filesystem is read-only)")
        return
    empty_dir = volume["emptyDir"] or {}
    if empty_dir.get("medium") == "Memory":
        problems.add(
            at,
            f"{variable} is on the memory-backed emptyDir {volume['name']}: videos there count against the memory "
            "limit",
        )
    per_video = setting_number(env, "VIDEO_MAX_BYTES", DEFAULT_VIDEO_MAX_BYTES)
    videos = setting_number(env, "TRANSCODE_CONCURRENCY", 1) if role == "media worker" else 1
    limit = empty_dir.get("sizeLimit")
    if limit is None or per_video is None or videos is None:
        return
    room = quantity(limit)
    if room is None or room < per_video * videos:
        problems.add(
            at,
            f"{variable} is on the emptyDir {volume['name']} of sizeLimit {limit}, less than {videos} x "
            f"VIDEO_MAX_BYTES ({per_video}): the kubelet evicts the pod when a video fills it",
        )


def check_addresses(binary, env, container, at, problems):
    ports = {port["containerPort"]: port.get("name") for port in container.get("ports", [])}
    addresses = [(OPS_ADDRESS[binary], "metrics")] + ([("API_ADDR", "http")] if binary == "api" else [])
    for variable, port_name in addresses:
        value = (env.get(variable) or (None, ""))[1]
        host, _, port = value.rpartition(":")
        try:
            unspecified = ipaddress.ip_address(host.strip("[]")).is_unspecified
        except ValueError:
            unspecified = False
        if not unspecified:
            problems.add(
                at,
                f"{variable}={value!r} must listen on 0.0.0.0 or [::]: the kubelet and Services "
                "connect to the pod's address",
            )
        if not port.isdigit() or ports.get(int(port)) != port_name:
            problems.add(at, f"{variable}={value!r}: its port must be the container port named {port_name}")


def check_build(build, settings, problems):
    claims = {}
    for doc in build.of_kind("Deployment") + build.of_kind("Job"):
        claims.update(check_pod(build, doc, settings, problems))
    if len(set(claims.values())) > 1:
        mounted = ", ".join(f"{at} -> {claim}" for at, claim in sorted(claims.items()))
        problems.add(
            build.label,
            "the api and media workers must mount the same claim at MEDIA_ROOT (STORAGE_BACKEND=local), or the "
            f"workers encode what the api cannot serve: {mounted}",
        )
    for config_map in build.of_kind("ConfigMap"):
        leaked = SECRETS & set(config_map.get("data") or {})
        if leaked:
            problems.add(f"{build.label}: {name_of(config_map)}", f"holds secrets {sorted(leaked)}")
    if build.of_kind("Secret") and not build.may_hold_secret:
        problems.add(
            build.label,
            "contains a Secret: only the dev overlay may generate one; the operator creates "
            f"{SECRET_NAME} in production",
        )
    deployments = {doc["metadata"]["name"]: doc for doc in build.of_kind("Deployment")}
    if not deployments:
        return
    if build.of_kind("Job"):
        problems.add(
            build.label,
            "the application's build holds a Job: the migration is applied and awaited "
            "first, from its own kustomization (migrate/)",
        )
    roles = {}
    for name, doc in deployments.items():
        for container in pod_spec(doc)["containers"]:
            roles.setdefault(binary_of(container), []).append(name)
    for binary in ("api", "worker", "scheduler"):
        if binary not in roles:
            problems.add(build.label, f"no Deployment runs {binary}")
    autoscaled = check_autoscaling(build, deployments, roles, problems)
    for name, doc in deployments.items():
        where = f"{build.label}: Deployment/{name}"
        if name in autoscaled and "replicas" in doc["spec"]:
            problems.add(where, f"autoscaled by {autoscaled[name]}: drop spec.replicas, or every apply resets it")
        if name in roles.get("worker", []):
            grace = pod_spec(doc).get("terminationGracePeriodSeconds", 30)
            if grace < MIN_WORKER_GRACE_SECONDS:
                problems.add(
                    where,
                    f"terminationGracePeriodSeconds {grace} < {MIN_WORKER_GRACE_SECONDS}: the worker drains for 30 s",
                )
        if name in roles.get("scheduler", []) and doc["spec"].get("replicas", 1) < 2:
            problems.add(where, "the scheduler runs two replicas (the tick lock makes it safe)")
        if name in roles.get("api", []):
            labels = doc["spec"]["template"]["metadata"]["labels"]
            if not any(
                selector_matches(pdb["spec"]["selector"].get("matchLabels"), labels)
                for pdb in build.of_kind("PodDisruptionBudget")
            ):
                problems.add(where, "no PodDisruptionBudget selects the api's pods")
    check_services(build, deployments, problems)
    for cluster in build.of_kind("RabbitmqCluster"):
        replicas = cluster["spec"].get("replicas", 1)
        if replicas < 3 or replicas % 2 == 0:
            problems.add(
                f"{build.label}: {name_of(cluster)}",
                "quorum queues need an odd number of nodes, three at least, to survive losing one",
            )


def check_autoscaling(build, deployments, roles, problems):
    """Deployment name -> what scales it; checks every HPA and ScaledObject names a real target and queue."""
    autoscaled = {}
    for hpa in build.of_kind("HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        if target.get("kind") != "Deployment" or target.get("name") not in deployments:
            problems.add(f"{build.label}: {name_of(hpa)}", f"scales {target}, not a Deployment of the build")
            continue
        autoscaled[target["name"]] = name_of(hpa)
    for api in roles.get("api", []):
        if api not in autoscaled:
            problems.add(f"{build.label}: Deployment/{api}", "no HorizontalPodAutoscaler scales the api")
    scaled_queues = {}
    for scaled in build.of_kind("ScaledObject"):
        where = f"{build.label}: {name_of(scaled)}"
        target = scaled["spec"]["scaleTargetRef"]
        deployment = deployments.get(target.get("name"))
        if target.get("kind", "Deployment") != "Deployment" or deployment is None:
            problems.add(where, f"scaleTargetRef {target.get('name')} is not a Deployment of the build")
            continue
        if target["name"] in autoscaled:
            problems.add(where, f"{target['name']} is already scaled by {autoscaled[target['name']]}")
        autoscaled[target["name"]] = name_of(scaled)
        container = pod_spec(deployment)["containers"][0]
        env = build.environment(container)
        queue = (env.get("WORKER_QUEUES") or (None, None))[1]
        prefix = (env.get("RABBITMQ_PREFIX") or (None, "cinema"))[1]
        if binary_of(container) != "worker" or queue not in QUEUES:
            problems.add(where, f"{target['name']} is not a worker of one queue")
            continue
        scaled_queues[queue] = target["name"]
        expected = f"{prefix}.jobs.{queue}"
        triggers = scaled["spec"].get("triggers", [])
        if not triggers:
            problems.add(where, "no trigger")
        for trigger in triggers:
            metadata = trigger.get("metadata", {})
            if trigger.get("type") != "rabbitmq":
                problems.add(where, f"trigger {trigger.get('type')}: scale on the RabbitMQ queue (type rabbitmq)")
            if metadata.get("queueName") != expected:
                problems.add(where, f"queueName {metadata.get('queueName')!r}: the worker consumes {expected!r}")
            if queue == MEDIA_QUEUE:
                check_media_trigger(metadata, env, where, problems)
            check_trigger_authentication(build, trigger, where, problems)
    for queue in sorted(QUEUES):
        if queue not in scaled_queues:
            problems.add(build.label, f"no worker Deployment of queue {queue} scaled by a KEDA ScaledObject")
    return autoscaled


def check_media_trigger(metadata, env, where, problems):
    """An encode holds its message for minutes: the media queue's length must count the unacknowledged messages
    (the management API, protocol http), and a replica must be wanted for every TRANSCODE_CONCURRENCY of them."""
    if metadata.get("protocol") != "http" or str(metadata.get("excludeUnacknowledged", "false")).lower() == "true":
        problems.add(
            where,
            "the media queue must be measured with protocol http (ready + unacknowledged): over AMQP, or with "
            "excludeUnacknowledged, running encodes are not counted and workers are removed under them",
        )
    if metadata.get("mode", "QueueLength") != "QueueLength":
        problems.add(
            where, f"mode {metadata.get('mode')}: scale the media workers on QueueLength (encodes per replica)"
        )
    concurrency = setting_number(env, "TRANSCODE_CONCURRENCY", 1)
    value = quantity(metadata.get("value", ""))
    if concurrency is not None and (value is None or not 0 < value <= concurrency):
        problems.add(
            where,
            f"value {metadata.get('value')!r}: between 0 and TRANSCODE_CONCURRENCY ({concurrency}), the encodes one "
            "replica runs at once; more leaves videos waiting while workers could be added",
        )


def check_trigger_authentication(build, trigger, where, problems):
    reference = trigger.get("authenticationRef", {})
    authentication = build.named("TriggerAuthentication", reference.get("name"))
    if authentication is None:
        problems.add(where, f"authenticationRef {reference.get('name')!r} is not a TriggerAuthentication of the build")
        return
    # `auto` (or no protocol) takes the protocol from the URL, and RABBITMQ_URL is an AMQP one.
    key = SCALER_HOST_KEY.get(trigger.get("metadata", {}).get("protocol"), "RABBITMQ_URL")
    hosts = [ref for ref in authentication["spec"].get("secretTargetRef", []) if ref.get("parameter") == "host"]
    if not any(ref.get("name") == SECRET_NAME and ref.get("key") == key for ref in hosts):
        problems.add(
            f"{build.label}: {name_of(authentication)}",
            f"the `host` parameter must come from {SECRET_NAME}, key {key} (for {where})",
        )
    keys = build.secret_keys()
    if keys is not None and key not in keys:
        problems.add(where, f"{key} is not in the build's Secret {SECRET_NAME} (KEDA reads it)")


def check_services(build, deployments, problems):
    scraped = set()
    services = {doc["metadata"]["name"]: doc for doc in build.of_kind("Service")}
    backing_of = {}  # Service name -> the Deployments behind it
    for name, service in services.items():
        where = f"{build.label}: Service/{name}"
        selector = service["spec"].get("selector")
        backing = [
            deployment
            for deployment in deployments.values()
            if selector_matches(selector, deployment["spec"]["template"]["metadata"]["labels"])
        ]
        if not backing:
            problems.add(where, "selects no Deployment's pods")
            continue
        container_ports = {
            port.get("name")
            for deployment in backing
            for container in pod_spec(deployment)["containers"]
            for port in container.get("ports", [])
        }
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            if isinstance(target, str) and target not in container_ports:
                problems.add(where, f"targetPort {target} is no container port of its pods")
        backing_of[name] = [deployment["metadata"]["name"] for deployment in backing]
    for monitor in build.of_kind("ServiceMonitor"):
        where = f"{build.label}: {name_of(monitor)}"
        selected = [
            service
            for service in services.values()
            if selector_matches(monitor["spec"]["selector"].get("matchLabels"), service["metadata"]["labels"])
        ]
        if not selected:
            problems.add(where, "selects no Service")
        for service in selected:
            if not service["metadata"]["name"].startswith("online-cinema"):
                problems.add(where, f"job label {service['metadata']['name']}: the alerts select online-cinema.*")
            names = {port.get("name") for port in service["spec"]["ports"]}
            for endpoint in monitor["spec"]["endpoints"]:
                if endpoint.get("port") not in names:
                    problems.add(
                        where, f"port {endpoint.get('port')} is not a port of Service/{service['metadata']['name']}"
                    )
                elif endpoint.get("port") == "metrics":
                    scraped.update(backing_of.get(service["metadata"]["name"], []))
    for name in sorted(set(deployments) - scraped):
        problems.add(f"{build.label}: Deployment/{name}", "no ServiceMonitor scrapes its `metrics` port")


def check_migration_pair(application, migration, problems):
    jobs = [
        job for job in migration.of_kind("Job") if any(binary_of(c) == "migrate" for c in pod_spec(job)["containers"])
    ]
    if len(jobs) != 1:
        problems.add(migration.label, f"must hold one Job running `api migrate` (found {len(jobs)})")
    if migration.of_kind("Deployment"):
        problems.add(migration.label, "holds Deployments: the migration build applies before the application")

    def config_maps(build):
        return {doc["metadata"]["name"]: doc.get("data") for doc in build.of_kind("ConfigMap")}

    if config_maps(application) != config_maps(migration):
        problems.add(
            migration.label,
            f"its ConfigMaps differ from {application.label}'s: the migration must run with "
            "the application's settings (share the overlay's `env` component)",
        )
    images = {
        container["image"]
        for build in (application, migration)
        for doc in build.of_kind("Deployment") + build.of_kind("Job")
        for container in pod_spec(doc)["containers"]
    }
    if len(images) > 1:
        problems.add(migration.label, f"image differs from the application's: {sorted(images)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubectl", required=True)
    parser.add_argument("--root", required=True, type=pathlib.Path)
    parser.add_argument("--env-sample", required=True)
    parser.add_argument("--kubernetes-version", default="1.37.0")
    args = parser.parse_args()

    # kubernetes-validate reads its (large) definitions file again for every document: read each file once.
    kubernetes_validate.utils.schema_contents = functools.lru_cache(maxsize=None)(
        kubernetes_validate.utils.schema_contents
    )

    problems = Problems()
    settings = load_env_sample(args.env_sample)
    crds = load_crds(args.root / "crds", args.kubernetes_version, problems)
    folders = [args.root / "base", args.root / "base" / "migrate"]
    # Every overlay folder that builds on its own; the `kind: Component` folders are checked through their users.
    folders += sorted(
        path.parent
        for path in (args.root / "overlays").rglob("kustomization.yaml")
        if yaml.safe_load(path.read_text()).get("kind", "Kustomization") == "Kustomization"
    )
    builds = {}
    for folder in folders:
        label = str(folder.relative_to(args.root))
        try:
            docs = kustomize(args.kubectl, folder)
        except RuntimeError as error:
            problems.add(label, f"kubectl kustomize failed: {error}")
            continue
        build = Build(label, docs)
        builds[label] = build
        for index, doc in enumerate(docs):
            validate_document(
                doc, crds, args.kubernetes_version, f"{label}: {name_of(doc)} (document {index + 1})", problems
            )
        check_build(build, settings, problems)
        kinds = {}
        for doc in docs:
            kinds[doc["kind"]] = kinds.get(doc["kind"], 0) + 1
        print(f"{label}: {len(docs)} documents ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))})")
    overlays = sorted({label for label in builds if label.startswith("overlays/") and not label.endswith("/migrate")})
    if not overlays:
        problems.add("overlays", "no overlay found")
    for label in overlays:
        migration = builds.get(f"{label}/migrate")
        if migration is None:
            problems.add(label, f"no {label}/migrate kustomization: the migration Job must be applied first")
            continue
        check_migration_pair(builds[label], migration, problems)
    print(
        f"CRD schemas: {', '.join(sorted(kind for _, kind in crds))}; Kubernetes schemas "
        f"{args.kubernetes_version} (kubernetes-validate {kubernetes_validate.__version__}, strict)"
    )
    sys.stdout.flush()
    if problems.items:
        for item in problems.items:
            print(f"FAIL {item}", file=sys.stderr)
        print(f"k8s-check: {len(problems.items)} problems", file=sys.stderr)
        return 1
    print(f"k8s-check: {len(builds)} builds, {sum(len(b.docs) for b in builds.values())} documents, no problems")
    return 0


if __name__ == "__main__":
    sys.exit(main())
