#!/usr/bin/env bash
# Python-client conformance: runs the official stream-sea-client 0.7.0 (PyPI) against
# the stream-sea emulator served by the bridge binary.
#
#   test/conformance/run.sh [pytest args...]
#
# It creates (or reuses) a virtualenv in .cache/pyvenv from test/conformance/requirements.txt,
# builds the bridge into .cache/bin/bridge, starts `bridge emulator` on a free 127.0.0.1
# port with a throwaway client, runs pytest on test/conformance/python, and stops the
# emulator whatever happens.
#
# Environment:
#   SEABRIDGE_CONFORMANCE_PYTHON  interpreter for the virtualenv. Default: the first Python
#                                 3.9/3.8/3.7 on PATH or under pyenv. The client pins
#                                 websockets~=8.1, which fails on Python 3.10+ (asyncio
#                                 dropped the loop= arguments it passes).
#   SEABRIDGE_EMULATOR_CMD        command serving the emulator, given --listen, --clients and
#                                 --ping-interval. Default: .cache/bin/bridge emulator.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
venv="$root/.cache/pyvenv"
requirements="$root/test/conformance/requirements.txt"

say() { printf 'conformance: %s\n' "$*"; }
die() { printf 'conformance: error: %s\n' "$*" >&2; exit 1; }

# usable_python succeeds when $1 runs and is a Python 3.7-3.9 (a pyenv shim may exist
# on PATH and still fail).
usable_python() {
	"$1" -c 'import sys; sys.exit(0 if (3, 7) <= sys.version_info[:2] <= (3, 9) else 1)' >/dev/null 2>&1
}

# find_python prints an interpreter on which websockets 8.1 runs.
find_python() {
	if [[ -n "${SEABRIDGE_CONFORMANCE_PYTHON:-}" ]]; then
		echo "$SEABRIDGE_CONFORMANCE_PYTHON"
		return
	fi
	local candidate pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
	for candidate in python3.9 python3.8 python3.7 \
		"$pyenv_root"/versions/3.9*/bin/python3.9 "$pyenv_root"/versions/3.8*/bin/python3.8 \
		"$pyenv_root"/versions/3.7*/bin/python3.7; do
		if usable_python "$candidate"; then
			command -v "$candidate"
			return
		fi
	done
	die "no Python 3.7-3.9 found (stream-sea-client 0.7.0 pins websockets~=8.1, which needs one); set SEABRIDGE_CONFORMANCE_PYTHON"
}

# ensure_venv (re)creates the virtualenv when the interpreter or the requirements changed.
ensure_venv() {
	local python stamp_want
	python="$(find_python)"
	stamp_want="$("$python" -c 'import sys; print(sys.executable, sys.version.split()[0])') $(sha256sum "$requirements" | cut -d' ' -f1)"
	if [[ -f "$venv/.seabridge-stamp" && "$(cat "$venv/.seabridge-stamp")" == "$stamp_want" ]]; then
		say "virtualenv $venv is up to date"
		return
	fi
	say "creating virtualenv $venv with $python and installing $(grep -c '^[a-z]' "$requirements") packages from PyPI..."
	rm -rf "$venv"
	"$python" -m venv "$venv"
	if ! "$venv/bin/pip" install --disable-pip-version-check -q -r "$requirements" >"$venv/install.log" 2>&1; then
		cat "$venv/install.log" >&2
		rm -f "$venv/.seabridge-stamp"
		die "pip install failed"
	fi
	echo "$stamp_want" >"$venv/.seabridge-stamp"
}

free_port() {
	"$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

ensure_venv

if [[ -n "${SEABRIDGE_EMULATOR_CMD:-}" ]]; then
	read -r -a emulator_cmd <<<"$SEABRIDGE_EMULATOR_CMD"
else
	say "building the bridge..."
	go build -o "$root/.cache/bin/bridge" ./cmd/bridge
	emulator_cmd=("$root/.cache/bin/bridge" emulator)
fi

work="$(mktemp -d)"
emulator_pid=""
cleanup() {
	if [[ -n "$emulator_pid" ]] && kill -0 "$emulator_pid" 2>/dev/null; then
		kill -TERM "$emulator_pid" 2>/dev/null || true
		wait "$emulator_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

client_id="conformance"
client_secret="$("$venv/bin/python" -c 'import secrets; print(secrets.token_hex(16))')"
printf '{"clients": [{"id": "%s", "secret": "%s"}]}\n' "$client_id" "$client_secret" >"$work/clients.json"
port="$(free_port)"

say "starting the emulator on 127.0.0.1:$port (${emulator_cmd[*]})..."
"${emulator_cmd[@]}" --listen "127.0.0.1:$port" --clients "$work/clients.json" --ping-interval 2s \
	>"$work/emulator.log" 2>&1 &
emulator_pid=$!

ready=""
for _ in $(seq 1 100); do
	if ! kill -0 "$emulator_pid" 2>/dev/null; then
		cat "$work/emulator.log" >&2
		die "the emulator exited during startup"
	fi
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		ready=1
		break
	fi
	sleep 0.1
done
[[ -n "$ready" ]] || { cat "$work/emulator.log" >&2; die "the emulator did not listen on 127.0.0.1:$port within 10s"; }

say "running pytest against the emulator..."
status=0
SEABRIDGE_EMULATOR_HOST=127.0.0.1 SEABRIDGE_EMULATOR_PORT="$port" \
	SEABRIDGE_EMULATOR_CLIENT_ID="$client_id" SEABRIDGE_EMULATOR_CLIENT_SECRET="$client_secret" \
	"$venv/bin/python" -m pytest "$root/test/conformance/python" -q -p no:cacheprovider "$@" || status=$?
if ((status != 0)); then
	say "pytest failed (exit $status); emulator log:"
	tail -n 50 "$work/emulator.log" >&2
fi
exit "$status"
