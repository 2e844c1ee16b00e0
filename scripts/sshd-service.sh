#!/usr/bin/env bash
# Starts Debian's sshd on 127.0.0.1 for the ssh:// tests, with a host key and a client key
# of the project's own, and an ssh-agent holding the client key (ssh reads its config from
# the account's home, not $HOME, so the key reaches ssh through SSH_AUTH_SOCK). Prints the
# two variables the tests read, as shell assignments. Idempotent.
set -euo pipefail
dir="${STAGESCOPE_SSHD_DIR:-/tmp/stagescope-sshd}"
port="${STAGESCOPE_SSHD_PORT:-2222}"
mkdir -p "$dir"
chmod 700 "$dir"

if ! command -v /usr/sbin/sshd >/dev/null 2>&1 || ! command -v ssh-agent >/dev/null 2>&1; then
  echo "installing: openssh-server" >&2
  apt-get update -qq >&2
  apt-get install -y -qq openssh-server openssh-client >/dev/null
fi

if [ ! -f "$dir/host_key" ]; then
  ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
  # A new host key on a port that had another: forget the old one, or ssh refuses.
  ssh-keygen -R "[127.0.0.1]:$port" >/dev/null 2>&1 || true
fi
[ -f "$dir/client_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key"
cp "$dir/client_key.pub" "$dir/authorized_keys"
chmod 600 "$dir/authorized_keys"

cat >"$dir/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $dir/sshd.pid
CONF

mkdir -p /run/sshd
if ! { [ -f "$dir/sshd.pid" ] && kill -0 "$(cat "$dir/sshd.pid")" 2>/dev/null; }; then
  /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
fi

agent="$dir/agent.sock"
if ! SSH_AUTH_SOCK="$agent" ssh-add -l >/dev/null 2>&1; then
  rm -f "$agent"
  ssh-agent -a "$agent" >/dev/null
  SSH_AUTH_SOCK="$agent" ssh-add -q "$dir/client_key"
fi

for _ in $(seq 1 20); do
  SSH_AUTH_SOCK="$agent" ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new -p "$port" \
    root@127.0.0.1 true 2>/dev/null && break
  sleep 0.5
done
echo "STAGESCOPE_SSH_HOST=ssh://root@127.0.0.1:$port"
echo "STAGESCOPE_SSH_AUTH_SOCK=$agent"
