#!/usr/bin/env bash
# A one-node SLURM cluster on this host (Debian's slurm-wlm 22.05 and munge) and an SSH login
# node in front of it (a private sshd on 127.0.0.1:2222 for the user paas-slurm), for the SLURM
# driver's tests. Idempotent: installs the Debian packages if missing, writes
# /etc/slurm/slurm.conf from slurm.conf beside this script (and reconfigures a running
# controller when it changed), starts only the daemons that are not running, waits until the
# node is idle, then records how to reach the cluster under "slurm" in
# $HOME/.paas-orchestrator-test/services.json (ansible-test filters environment variables, so
# tests read that file).
#
#   tests/tooling/slurm/setup.sh start|stop|status
#
# Environment: SLURM_CI_DIR (state: the SSH keys, sshd's config, pid and log; default
# /var/lib/paas-orchestrator-slurm), SLURM_SSH_PORT (default 2222).
# Needs root. No systemd here: munged, slurmctld, slurmd and sshd are started by hand (shared
# backends.md section 1); slurmd runs with -N localhost, the node's name in slurm.conf, whatever
# the host name is.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=${SLURM_CI_DIR:-/var/lib/paas-orchestrator-slurm}
ssh_port=${SLURM_SSH_PORT:-2222}
ssh_user=paas-slurm
conf=/etc/slurm/slurm.conf
services_json=$HOME/.paas-orchestrator-test/services.json

log() { echo "slurm/setup.sh: $*" >&2; }

alive() {  # pidfile program: the pid in pidfile runs program (not a reused pid)
    local pid; pid=$(cat "$1" 2>/dev/null) || return 1
    [ -n "$pid" ] && grep -qa "$2" "/proc/$pid/cmdline" 2>/dev/null
}

munge_up() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
ctld_up() { alive /run/slurmctld.pid slurmctld; }
slurmd_up() { alive /run/slurmd.pid slurmd; }
sshd_up() { alive "$dir/sshd.pid" sshd && (exec 3<>"/dev/tcp/127.0.0.1/$ssh_port") 2>/dev/null; }
node_state() { sinfo -h -n localhost -o %T 2>/dev/null; }
node_ready() { case $(node_state) in idle|mixed|allocated|completing) return 0 ;; esac; return 1; }

install_packages() {
    local missing=""
    for program in sbatch slurmctld slurmd munged sshd; do
        command -v "$program" >/dev/null || [ -x "/usr/sbin/$program" ] || missing=1
    done
    [ -n "$missing" ] || return 0
    log "installing slurm-wlm, munge and openssh-server"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurm-wlm munge openssh-server >/dev/null
}

write_conf() {
    mkdir -p /etc/slurm
    if cmp -s "$here/slurm.conf" "$conf"; then return 0; fi
    log "writing $conf"
    cp "$here/slurm.conf" "$conf.new" && mv "$conf.new" "$conf"
    if ctld_up; then scontrol reconfigure; fi
}

start_daemons() {
    if ! munge_up; then
        log "starting munged"
        mkdir -p /run/munge && chown munge:munge /run/munge
        runuser -u munge -- /usr/sbin/munged
        for _ in $(seq 50); do munge_up && break; sleep 0.1; done
    fi
    if ! ctld_up; then log "starting slurmctld"; /usr/sbin/slurmctld; fi
    if ! slurmd_up; then log "starting slurmd"; /usr/sbin/slurmd -N localhost; fi
    local i
    for i in $(seq 150); do
        node_ready && return 0
        # A node that was down when the controller last saw it stays down until resumed.
        case $(node_state) in down*|drain*) scontrol update NodeName=localhost State=RESUME ;; esac
        [ "$i" = 150 ] && { log "node localhost is not idle: $(node_state);" \
            "see /var/log/slurm/slurmctld.log and slurmd.log"; exit 1; }
        sleep 0.2
    done
}

# The login node: jobs submitted through it run as $ssh_user, as on a real cluster.
start_sshd() {
    mkdir -p "$dir/authorized_keys" /run/sshd
    if ! id "$ssh_user" >/dev/null 2>&1; then
        useradd -m -s /bin/sh "$ssh_user"
    fi
    usermod -p '*' "$ssh_user"  # no password, not locked: sshd without PAM refuses locked accounts
    [ -f "$dir/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh_host_ed25519_key"
    [ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C paas-slurm-tests -f "$dir/id_ed25519"
    cp "$dir/id_ed25519.pub" "$dir/authorized_keys/$ssh_user" && chmod 644 "$dir/authorized_keys/$ssh_user"
    chmod 755 "$dir/authorized_keys"
    printf '[127.0.0.1]:%s %s\n' "$ssh_port" "$(cut -d' ' -f1,2 "$dir/ssh_host_ed25519_key.pub")" \
        > "$dir/known_hosts"
    cat > "$dir/sshd_config" <<EOF
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys/%u
AllowUsers $ssh_user
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# The driver multiplexes its commands over one connection per site.
MaxSessions 50
EOF
    # StrictModes: the key file and its directories are root's and not writable by others; the
    # private keys are 0600.
    chmod 755 "$dir"
    if ! sshd_up; then
        log "starting sshd on 127.0.0.1:$ssh_port"
        /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
        for _ in $(seq 50); do sshd_up && break; sleep 0.1; done
        sshd_up || { log "sshd does not listen on $ssh_port; $dir/sshd.log says:"; tail -n 5 "$dir/sshd.log" >&2; exit 1; }
    fi
}

record() {
    python3 "$here/../record_service.py" "$services_json" slurm "{
        \"partition\": \"debug\", \"cpus\": 2, \"conf\": \"$conf\", \"log_dir\": \"/var/log/slurm\",
        \"python\": \"/usr/bin/python3\",
        \"ssh\": {\"host\": \"127.0.0.1\", \"port\": $ssh_port, \"user\": \"$ssh_user\",
                \"key_file\": \"$dir/id_ed25519\", \"known_hosts_file\": \"$dir/known_hosts\"}}"
}

stop_pid() {  # pidfile program
    local pid i
    alive "$1" "$2" || return 0
    pid=$(cat "$1")
    kill "$pid"
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        [ "$i" = 50 ] && kill -KILL "$pid"
        sleep 0.2
    done
}

case ${1:-} in
    start)
        install_packages
        write_conf
        start_daemons
        start_sshd
        record
        log "slurm ready: partition debug on node localhost; ssh $ssh_user@127.0.0.1:$ssh_port"
        ;;
    stop)
        stop_pid "$dir/sshd.pid" sshd
        stop_pid /run/slurmd.pid slurmd
        stop_pid /run/slurmctld.pid slurmctld
        stop_pid /run/munge/munged.pid munged
        ;;
    status)
        munge_up && ctld_up && slurmd_up && node_ready && sshd_up
        ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
