#!/bin/sh
# The operator CLI (apps/admin, every `npm run admin -- …` command) in the cluster, as
# `docker compose run --rm admin …` is under Compose: a one-off pod of the admin image with the
# settings of the migration Job (its image, ConfigMap and Secrets, so the same database, Redis,
# prefix and pepper), removed when the command ends.
#
#   deploy/k8s/admin.sh [-n NAMESPACE] <command> [options]      (NAMESPACE: default smsgw)
#   deploy/k8s/admin.sh -n smsgw-dev partner list
#   deploy/k8s/admin.sh user create …                           (prompts need a terminal)
#   printf '%s\n' "$PW" | deploy/k8s/admin.sh smsc update mts --password-stdin
#
# The pod is labelled app.kubernetes.io/name=admin, which the NetworkPolicies of PostgreSQL and
# Redis admit, and runs under the namespace's `restricted` Pod Security Standard. Needs kubectl
# with access to the namespace (get jobs, create and delete pods, attach).
set -eu

namespace=smsgw
if [ "${1:-}" = "-n" ] || [ "${1:-}" = "--namespace" ]; then
  [ $# -ge 2 ] || { echo "admin.sh: $1 needs a namespace" >&2; exit 2; }
  namespace=$2
  shift 2
fi
[ $# -gt 0 ] || set -- --help

c='.spec.template.spec.containers[0]'
if ! settings=$(kubectl -n "$namespace" get job smsgw-migrate -o jsonpath="{$c.image} {$c.envFrom[*].configMapRef.name} {$c.envFrom[*].secretRef.name} {$c.env[?(@.name==\"DATABASE_URL\")].valueFrom.secretKeyRef.name}"); then
  echo "admin.sh: no Job smsgw-migrate in namespace $namespace to take the image and settings from (apply an overlay first, or give -n)" >&2
  exit 1
fi
# Four words: the image, the ConfigMap, the Secret, the database Secret (names never hold spaces).
set -f
# shellcheck disable=SC2086
set -- $settings -- "$@"
set +f
if [ $# -lt 5 ] || [ "$5" != "--" ]; then
  echo "admin.sh: Job smsgw-migrate in $namespace lacks its image, ConfigMap, Secret or DATABASE_URL Secret" >&2
  exit 1
fi
image=$1 config=$2 secrets=$3 database=$4
shift 5

name="smsgw-admin-$(date +%s)-$$"
restricted='{"allowPrivilegeEscalation":false,"readOnlyRootFilesystem":true,"runAsNonRoot":true,"capabilities":{"drop":["ALL"]}}'
overrides=$(cat <<EOF
{"apiVersion":"v1","spec":{
  "automountServiceAccountToken":false,"enableServiceLinks":false,
  "securityContext":{"runAsNonRoot":true,"runAsUser":1000,"runAsGroup":1000,"seccompProfile":{"type":"RuntimeDefault"}},
  "containers":[{"name":"$name","imagePullPolicy":"IfNotPresent",
    "envFrom":[{"configMapRef":{"name":"$config"}},{"secretRef":{"name":"$secrets"}}],
    "env":[{"name":"DATABASE_URL","valueFrom":{"secretKeyRef":{"name":"$database","key":"uri"}}}],
    "resources":{"requests":{"cpu":"100m","memory":"128Mi"},"limits":{"cpu":"1","memory":"512Mi"}},
    "securityContext":$restricted,
    "volumeMounts":[{"name":"tmp","mountPath":"/tmp"}]}],
  "volumes":[{"name":"tmp","emptyDir":{"sizeLimit":"64Mi"}}]}}
EOF
)

# A terminal for prompts when there is one; plain standard input otherwise (--password-stdin).
# The overrides are merged into the pod kubectl generates by container name (strategic), so that
# its image, command and arguments stay; the default JSON merge would replace the container.
tty=
if [ -t 0 ] && [ -t 1 ]; then tty=--tty; fi
exec kubectl -n "$namespace" run "$name" --rm --stdin $tty --quiet --restart=Never \
  --image="$image" --labels=app.kubernetes.io/name=admin,app.kubernetes.io/part-of=smsgw \
  --pod-running-timeout=5m --override-type=strategic --overrides="$overrides" \
  --command -- node /app/apps/admin/dist/main.js "$@"
