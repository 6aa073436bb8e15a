#!/usr/bin/env bash
# install-point.sh — turn a fresh Debian 12 PC into an etapiste point (docs/deployment-point.md).
#
# The way a point is installed: from the organiser's enrolment package (--enrolment DIR), which carries
# the organiser's apt repository (repository/: its deb822 source, its OpenPGP key, the pin), the point's
# identity and credentials. The installer checks the whole package first, then writes the key
# (/etc/apt/keyrings/etapiste-organiser.gpg), the source (/etc/apt/sources.list.d/etapiste.sources,
# Signed-By that key) and the pin (/etc/apt/preferences.d/etapiste: etapiste-* only from that origin),
# runs 'apt-get install etapiste-point' (the package brings the users, units, udev, tmpfiles, CUPS's
# privacy settings and the physical console's lock: no SysRq, no Ctrl+Alt+Del reboot, USB devices by
# class only) and applies the enrolment (/etc/etapiste). Later versions arrive through the agent
# (software.version, docs/ops-guide.md §9). --uninstall purges the package and removes the repository.
#
# --from-checkout is the development path: the product from this checkout into a venv at
# /opt/etapiste/venv, the users, units, rules and the same console lock written by this script.
# Idempotent: run it again (e.g. after updating the checkout) and it changes only what differs.
# --uninstall --from-checkout removes all of it, credentials included. --root DIR (checkout only) writes
# every file under DIR instead of / (a throwaway root for CI, or to review what an installation writes):
# users are created in DIR/etc/passwd, units enabled with systemctl --root; the steps that need the live
# machine (apt-get, pip, starting units, reloading udev and cupsd) are printed, not run.
set -euo pipefail
umask 022

usage() {
    cat <<'EOF'
usage: install-point.sh --enrolment DIR [--organiser-keys FILE]
       install-point.sh --uninstall
       install-point.sh --from-checkout [--enrolment DIR] [--organiser-keys FILE] [--source DIR] [--root DIR] [--no-packages]
       install-point.sh --from-checkout --uninstall [--root DIR]

  --enrolment DIR       the point's enrolment package from the organiser (docs/deployment-point.md):
                          agent.env             ETAPISTE_POINT=<point id>, ETAPISTE_BROKER=mqtts://host:port,
                                                optionally ETAPISTE_AGENT_OPTIONS="--ca-file /etc/etapiste/enrolment/ca.pem"
                          organiser.trust.json  the organiser's public keys ('etapiste ops keygen' makes it)
                          credentials/          mqtt-password, and any ca.pem / client.pem / client.key
                          switchboard-credential  (optional) the point's switchboard credential
                          repository/           the organiser's apt repository ('etapiste ops repo enrolment'):
                                                etapiste.sources, etapiste.pref, organiser-archive-keyring.gpg
  --organiser-keys FILE the organiser's public keys (a trust file); overrides the package's own
  --uninstall           package: purge etapiste-point (users, state, credentials) and the repository;
                        checkout: remove everything this script installs
  --from-checkout       DEVELOPMENT ONLY: install this checkout with pip instead of the organiser's package
                        (a point installed so is not updated by the agent)
  --source DIR          (checkout) the etapiste checkout to install (default: the one holding this script)
  --root DIR            (checkout) install under DIR instead of / (throwaway root, dry run of the live steps)
  --no-packages         (checkout) do not run apt-get (the packages are installed already)
  -h, --help            this text
EOF
}

die() { echo "install-point: $*" >&2; exit 2; }
say() { echo "install-point: $*"; }

# Debian packages of a point: the kiosk session (cage, logind's PAM module), devices (pcscd with the CCID
# driver, CUPS, SANE), sound, speech, Qt's libraries, what pip needs to build pyscard, pycups and
# python-sane, and usbguard (which USB devices the point lets in).
PACKAGES=(
    cage libpam-systemd dbus-user-session usbguard
    pcscd libccid cups cups-filters sane-utils libsane1
    pipewire-pulse wireplumber espeak-ng fonts-dejavu-core
    libegl1 libgl1 libopengl0 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0 libwayland-client0
    libwayland-cursor0 libwayland-egl1
    python3 python3-venv python3-dev gcc pkg-config swig libpcsclite-dev libcups2-dev libsane-dev
    openssl ca-certificates
)

# Units installed, and the ones enabled (the others are started by these).
UNITS=(
    etapiste-kiosk.service etapiste-kiosk.path etapiste-kiosk-backoff.timer etapiste-kiosk-restart.service
    etapiste-kiosk-restart.path etapiste-reboot.service etapiste-reboot.path
    etapiste-update.service etapiste-update.path
    etapiste-agent.service
)
ENABLED=(
    etapiste-kiosk.service etapiste-kiosk.path etapiste-agent.service etapiste-kiosk-restart.path
    etapiste-reboot.path etapiste-update.path
)
# The physical console: files installed as they are (source under systemd/ → destination, mode).
CONSOLE_FILES=(
    "sysctl.d/99-zz-etapiste-point.conf:/etc/sysctl.d/99-zz-etapiste-point.conf:644"
    "system.conf.d/etapiste-point.conf:/etc/systemd/system.conf.d/etapiste-point.conf:644"
    "usbguard/70-etapiste-point.conf:/etc/usbguard/rules.d/70-etapiste-point.conf:600"
)
USB_POLICY=/etc/usbguard/rules.d/70-etapiste-point.conf
USB_LOCAL=/etc/usbguard/rules.d/90-etapiste-local.conf
USB_SNAPSHOT=/etc/usbguard/rules.conf.before-etapiste
# The organiser's repository on the point (package way): its key, its source, the pin.
APT_KEYRING=/etc/apt/keyrings/etapiste-organiser.gpg
APT_SOURCE=/etc/apt/sources.list.d/etapiste.sources
APT_PIN=/etc/apt/preferences.d/etapiste
CUPS_BEGIN="# >>> etapiste privacy (systemd/install-point.sh) >>>"
CUPS_END="# <<< etapiste privacy <<<"

root=/
source_dir=$(cd "$(dirname "$0")/.." && pwd)
enrolment=
organiser_key=
packages=yes
action=install
mode=package
checkout_only=
while [ $# -gt 0 ]; do
    case "$1" in
        --root) [ $# -ge 2 ] || die "--root needs a directory"; root=$2; checkout_only+=" --root"; shift 2 ;;
        --source) [ $# -ge 2 ] || die "--source needs a directory"; source_dir=$2; checkout_only+=" --source"; shift 2 ;;
        --from-checkout) mode=checkout; shift ;;
        --enrolment) [ $# -ge 2 ] || die "--enrolment needs a directory"; enrolment=$2; shift 2 ;;
        --organiser-keys) [ $# -ge 2 ] || die "--organiser-keys needs a file"; organiser_key=$2; shift 2 ;;
        --no-packages) packages=no; checkout_only+=" --no-packages"; shift ;;
        --uninstall) action=uninstall; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option '$1'" ;;
    esac
done

[ "$(id -u)" -eq 0 ] || die "run as root (it creates users and sets file owners)"
if [ "$mode" = package ] && [ -n "$checkout_only" ]; then
    die "${checkout_only# } belongs to the development path: add --from-checkout (or drop it)"
fi
[ -d "$root" ] || die "--root $root is not a directory"
root=$(cd "$root" && pwd)
live=yes
[ "$root" = / ] || live=no
R=${root%/}     # prefix for every path written: "" on the live system
units_src=$source_dir/systemd

# Run a step that needs the live machine; under --root only say what would run.
live_run() {
    if [ "$live" = yes ]; then
        "$@"
    else
        say "dry run (--root): would run: $*"
    fi
}

# Numeric ids from the target root's own user database (never the host's, under --root).
uid_of() { awk -F: -v n="$1" '$1 == n { print $3; found = 1 } END { exit !found }' "$R/etc/passwd"; }
gid_of() { awk -F: -v n="$1" '$1 == n { print $3; found = 1 } END { exit !found }' "$R/etc/group"; }

changed=0
# put SRC DEST MODE OWNER GROUP: install a file only when its content, mode or owner differ.
put() {
    local src=$1 dest=$R$2 mode=$3 owner group
    owner=$(uid_of "$4") || die "no user $4 in $R/etc/passwd"
    group=$(gid_of "$5") || die "no group $5 in $R/etc/group"
    if [ -f "$dest" ] && cmp -s "$src" "$dest" \
        && [ "$(stat -c '%a %u %g' "$dest")" = "$(printf '%o %s %s' "0$mode" "$owner" "$group")" ]; then
        return 0
    fi
    mkdir -p "$(dirname "$dest")"
    install -m "$mode" -o "$owner" -g "$group" "$src" "$dest.etapiste-new"
    mv -f "$dest.etapiste-new" "$dest"
    say "wrote $2 ($mode $4:$5)"
    changed=$((changed + 1))
}

# dir PATH MODE OWNER GROUP: create a directory or correct its mode and owner.
dir() {
    local dest=$R$1 mode=$2 owner group
    owner=$(uid_of "$3") || die "no user $3 in $R/etc/passwd"
    group=$(gid_of "$4") || die "no group $4 in $R/etc/group"
    if [ -d "$dest" ] && [ "$(stat -c '%a %u %g' "$dest")" = "$(printf '%o %s %s' "0$mode" "$owner" "$group")" ]; then
        return 0
    fi
    mkdir -p "$dest"
    chown "$owner:$group" "$dest"
    # Five or more digits: GNU chmod then also clears a setgid bit inherited from the parent.
    chmod "00$mode" "$dest"
    say "directory $1 ($mode $3:$4)"
    changed=$((changed + 1))
}

# Validate every input before anything is written: a bad package changes nothing.
check_trust_file() {
    # The organiser's trust file ({"keys": {keyid: base64 Ed25519 key}}, from 'etapiste ops keygen'):
    # every key 32 bytes and its id the first 16 bytes of its SHA-256, as the agent will check.
    local why
    why=$(python3 - "$1" <<'PY'
import base64, binascii, hashlib, json, sys
try:
    data = json.load(open(sys.argv[1], encoding="utf-8"))
    keys = data["keys"]
    assert isinstance(keys, dict) and keys, "it lists no key"
    for keyid, text in keys.items():
        raw = base64.b64decode(text, validate=True)
        assert len(raw) == 32, f"key {keyid} is not an Ed25519 public key"
        assert hashlib.sha256(raw).hexdigest()[:32] == keyid, f"key {keyid}: the id does not match the key"
except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
    print(f"it is not a trust file ({type(exc).__name__})")
except AssertionError as exc:
    print(exc)
PY
    )
    [ -z "$why" ] || die "$1 cannot be the organiser's keys: $why.
  Ask the organiser for the point's enrolment package; docs/deployment-point.md says what it holds."
}

check_agent_env() {
    local file=$1 line key value point='' broker=''
    while IFS= read -r line || [ -n "$line" ]; do
        case "$line" in ''|'#'*) continue ;; esac
        key=${line%%=*}
        value=${line#*=}
        value=${value#\"}; value=${value%\"}
        case "$key" in
            ETAPISTE_POINT) point=$value ;;
            ETAPISTE_BROKER) broker=$value ;;
            ETAPISTE_AGENT_OPTIONS) check_agent_options "$value" ;;
            *) die "$file: unknown setting '$key' (allowed: ETAPISTE_POINT, ETAPISTE_BROKER, ETAPISTE_AGENT_OPTIONS)" ;;
        esac
    done < "$file"
    [[ $point =~ ^[a-z0-9][a-z0-9-]{1,62}$ ]] \
        || die "$file: ETAPISTE_POINT='$point' is not a point id (lower-case letters, digits and '-', e.g. oulu-kirjasto)"
    [[ $broker =~ ^mqtts?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$ ]] \
        || die "$file: ETAPISTE_BROKER='$broker' must be mqtts://host:port (plain mqtt:// only to a broker on this machine)"
}

check_agent_options() {
    # Only the TLS files of the enrolment package: nothing else may reach the agent's command line.
    local -a words
    read -r -a words <<< "$1"
    set -- "${words[@]}"
    while [ $# -gt 0 ]; do
        case "$1" in
            --ca-file|--cert|--key)
                [ $# -ge 2 ] || die "ETAPISTE_AGENT_OPTIONS: $1 needs a file"
                case "$2" in
                    /etc/etapiste/enrolment/*) [ -f "$enrolment/credentials/${2#/etc/etapiste/enrolment/}" ] \
                        || die "ETAPISTE_AGENT_OPTIONS: $2 is not in the package's credentials/" ;;
                    *) die "ETAPISTE_AGENT_OPTIONS: $1 must name a file under /etc/etapiste/enrolment/" ;;
                esac
                shift 2 ;;
            *) die "ETAPISTE_AGENT_OPTIONS: '$1' is not allowed (only --ca-file, --cert, --key)" ;;
        esac
    done
}

# The organiser's repository in the enrolment package (repository/, from 'etapiste ops repo enrolment'):
# a deb822 source for one signed repository whose key is the package's own, the pin, the key itself.
check_repository() {
    local dir=$1 f line key value uri='' signed_by='' pinned=''
    for f in etapiste.sources etapiste.pref organiser-archive-keyring.gpg; do
        [ -s "$dir/$f" ] || die "enrolment package $enrolment has no repository/$f (the organiser's repository:
  'etapiste ops repo enrolment --url URL --into DIR' puts it there)"
    done
    while IFS= read -r line || [ -n "$line" ]; do
        case "$line" in ''|'#'*) continue ;; esac
        key=${line%%:*}
        value=${line#*:}
        value=${value# }
        case "$key" in
            Types) [ "$value" = deb ] || die "$dir/etapiste.sources: Types must be 'deb'" ;;
            URIs) [[ $value =~ ^(https?|file)://[A-Za-z0-9.:/_~%-]+$ ]] \
                      || die "$dir/etapiste.sources: URIs '$value' must be the repository's one URL (https://host/path)"
                  uri=$value ;;
            Suites|Components) [[ $value =~ ^[a-z0-9-]+$ ]] || die "$dir/etapiste.sources: $key '$value' is not one name" ;;
            Signed-By) [ "$value" = "$APT_KEYRING" ] \
                           || die "$dir/etapiste.sources: Signed-By must be $APT_KEYRING (the package's key, nothing else)"
                       signed_by=$value ;;
            *) die "$dir/etapiste.sources: unknown field '$key' (allowed: Types, URIs, Suites, Components, Signed-By)" ;;
        esac
    done < "$dir/etapiste.sources"
    if [ -z "$uri" ] || [ -z "$signed_by" ]; then die "$dir/etapiste.sources: it needs URIs and Signed-By"; fi
    while IFS= read -r line || [ -n "$line" ]; do
        case "$line" in
            ''|'#'*|'Pin-Priority: '*) ;;
            'Package: etapiste-*') ;;
            'Pin: release o='*) pinned=yes ;;
            'Pin: release *') ;;
            *) die "$dir/etapiste.pref: '$line' is not part of the etapiste pin (it may pin etapiste-* only)" ;;
        esac
    done < "$dir/etapiste.pref"
    [ -n "$pinned" ] || die "$dir/etapiste.pref: it pins nothing to the organiser's origin"
    # A binary OpenPGP public key (packet tag 6, old or new format), as apt reads from a .gpg keyring.
    case "$(od -An -tx1 -N1 "$dir/organiser-archive-keyring.gpg" | tr -d ' ')" in
        98|99|9a|c6) ;;
        *) die "$dir/organiser-archive-keyring.gpg is not a binary OpenPGP public key (gpg --export, not --armor)" ;;
    esac
}

validate_inputs() {
    if [ "$mode" = checkout ]; then
        if [ ! -f "$source_dir/pyproject.toml" ] || [ ! -d "$units_src/units" ]; then
            die "$source_dir is not an etapiste checkout (no pyproject.toml or systemd/units); use --source DIR"
        fi
    elif [ -z "$enrolment" ]; then
        die "--enrolment DIR is needed: the organiser's package says where the software comes from and who the point is
  (a development machine without one: --from-checkout)"
    fi
    command -v python3 >/dev/null || die "python3 is needed (apt-get install python3)"
    if [ -n "$enrolment" ]; then
        [ -d "$enrolment" ] || die "enrolment package $enrolment is not a directory"
        [ -s "$enrolment/agent.env" ] \
            || die "enrolment package $enrolment has no agent.env (the point's id and broker, from the organiser)"
        check_agent_env "$enrolment/agent.env"
        if [ -z "$organiser_key" ]; then
            [ -f "$enrolment/organiser.trust.json" ] \
                || die "enrolment package $enrolment has no organiser.trust.json; pass --organiser-keys FILE"
            check_trust_file "$enrolment/organiser.trust.json"
        fi
        [ -f "$enrolment/credentials/mqtt-password" ] \
            || die "enrolment package $enrolment has no credentials/mqtt-password (the point's MQTT password)"
        local f
        for f in "$enrolment/credentials"/*; do
            if [ ! -f "$f" ] || [ ! -s "$f" ]; then die "credential $f is empty or not a regular file"; fi
        done
        if [ -e "$enrolment/switchboard-credential" ] && [ ! -s "$enrolment/switchboard-credential" ]; then
            die "$enrolment/switchboard-credential is empty"
        fi
        [ "$mode" = checkout ] || check_repository "$enrolment/repository"
    fi
    if [ -n "$organiser_key" ]; then
        [ -f "$organiser_key" ] || die "organiser keys $organiser_key do not exist"
        check_trust_file "$organiser_key"
    fi
    if [ "$live" = no ]; then
        if [ ! -f "$R/etc/passwd" ] || [ ! -f "$R/etc/group" ]; then
            die "$root has no etc/passwd and etc/group: --root must be a Debian root (e.g. from debootstrap)"
        fi
    fi
}

install_packages() {
    if [ "$packages" = no ]; then
        return 0
    fi
    live_run env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q
    # No recommends: cups-browsed, ipp-usb and sane-airscan would discover network devices.
    live_run env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
        --no-install-recommends "${PACKAGES[@]}"
}

# The product, from the checkout into /opt/etapiste/venv; skipped when this very checkout is installed.
install_venv() {
    local venv=/opt/etapiste/venv stamp
    dir /opt/etapiste 755 root root
    stamp=$( { git -C "$source_dir" rev-parse HEAD 2>/dev/null || date +%s%N; \
               git -C "$source_dir" diff HEAD 2>/dev/null || true; } | sha256sum | cut -c1-32)
    if [ -f "$R$venv/.etapiste-source" ] && [ "$(cat "$R$venv/.etapiste-source")" = "$stamp" ]; then
        return 0
    fi
    if [ "$live" = yes ]; then
        [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
        "$venv/bin/python" -m pip install -q --upgrade pip
        "$venv/bin/python" -m pip install -q "$source_dir"
        echo "$stamp" > "$venv/.etapiste-source"
        say "installed etapiste from $source_dir into $venv"
        changed=$((changed + 1))
    else
        live_run python3 -m venv "$venv"
        live_run "$venv/bin/python" -m pip install "$source_dir"
    fi
}

install_users() {
    put "$units_src/sysusers.d/etapiste.conf" /etc/sysusers.d/etapiste.conf 644 root root
    local before after
    before=$(cat "$R/etc/passwd" "$R/etc/group")
    if [ "$live" = yes ]; then
        systemd-sysusers etapiste.conf
    else
        systemd-sysusers --root="$root" etapiste.conf
    fi
    after=$(cat "$R/etc/passwd" "$R/etc/group")
    [ "$before" = "$after" ] || { say "created the users etapiste-kiosk and etapiste-agent"; changed=$((changed + 1)); }
}

install_system_files() {
    local u
    for u in "${UNITS[@]}"; do
        put "$units_src/units/$u" "/etc/systemd/system/$u" 644 root root
    done
    # Retired: the agent restarts the kiosk nightly while the host is closed (provisioning/nightly.py), not a
    # timer at a fixed 03:30; an older install's timer must not keep restarting a kiosk under a customer.
    rm -f "$R/etc/systemd/system/etapiste-nightly-restart.timer" \
        "$R/etc/systemd/system/timers.target.wants/etapiste-nightly-restart.timer"
    put "$units_src/units/cups.service.d/etapiste-privacy.conf" \
        /etc/systemd/system/cups.service.d/etapiste-privacy.conf 644 root root
    put "$units_src/tmpfiles.d/etapiste.conf" /etc/tmpfiles.d/etapiste.conf 644 root root
    put "$units_src/udev/95-etapiste-kiosk.rules" /etc/udev/rules.d/95-etapiste-kiosk.rules 644 root root
    put "$units_src/pam.d/etapiste-kiosk" /etc/pam.d/etapiste-kiosk 644 root root
    # The software update helper (etapiste-update.service); the Debian package puts it in the same place.
    put "$units_src/libexec/etapiste-update" /usr/libexec/etapiste/etapiste-update 755 root root
}

# The physical console: SysRq off, Ctrl+Alt+Del's burst off (the target is masked in enable_units), and
# usbguard's policy. usbguard reads rules.conf, then rules.d/* in order; the first matching rule decides,
# no match is blocked. 70-etapiste-point.conf (ours, restored by every run) lets in the point's device
# classes; 90-etapiste-local.conf (the technician's pins, created once, never overwritten) comes last, so
# "usbguard allow-device -p" appends there. On the first run, rules.conf is what Debian's postinst wrote:
# every device present while the package was installed, the USB stick this came on included. It is put
# aside (rules.conf.before-etapiste) and left empty.
install_console() {
    local entry src dest mode first=no
    [ -f "$R$USB_POLICY" ] || first=yes
    dir /etc/usbguard 755 root root
    dir /etc/usbguard/rules.d 700 root root
    for entry in "${CONSOLE_FILES[@]}"; do
        IFS=: read -r src dest mode <<< "$entry"
        put "$units_src/$src" "$dest" "$mode" root root
    done
    if [ ! -e "$R$USB_LOCAL" ]; then
        put "$units_src/usbguard/90-etapiste-local.conf" "$USB_LOCAL" 600 root root
    fi
    if [ "$first" = yes ] && [ -s "$R/etc/usbguard/rules.conf" ] && [ ! -e "$R$USB_SNAPSHOT" ]; then
        mv "$R/etc/usbguard/rules.conf" "$R$USB_SNAPSHOT"
        install -m 600 -o root -g root /dev/null "$R/etc/usbguard/rules.conf"
        say "put Debian's install-time USB snapshot aside: $USB_SNAPSHOT (the point lets devices in by class)"
        changed=$((changed + 1))
    fi
}

# cupsd.conf has no drop-in directory: keep one managed block, and drop any other PreserveJob* line.
cupsd_conf_without_ours() {
    awk -v b="$CUPS_BEGIN" -v e="$CUPS_END" '
        $0 == b { skip = 1; next }
        $0 == e { skip = 0; next }
        !skip' "$1"
}

install_cups_privacy() {
    local conf=$R/etc/cups/cupsd.conf tmp
    [ -f "$conf" ] || die "$conf not found: is cups installed? (run without --no-packages)"
    tmp=$(mktemp)
    {
        cupsd_conf_without_ours "$conf" | grep -v -i -E '^[[:space:]]*PreserveJob(Files|History)[[:space:]]'
        echo "$CUPS_BEGIN"
        cat "$units_src/cups/cupsd-privacy.conf"
        echo "$CUPS_END"
    } > "$tmp"
    if cmp -s "$tmp" "$conf"; then
        rm -f "$tmp"
        return 0
    fi
    # Keep cupsd.conf's own mode and owner (Debian: 0640 root:lp).
    chmod --reference="$conf" "$tmp"
    chown --reference="$conf" "$tmp"
    mv -f "$tmp" "$conf"
    say "set PreserveJobFiles No and PreserveJobHistory No in /etc/cups/cupsd.conf"
    changed=$((changed + 1))
}

# /etc/etapiste holds what the installer puts there; the agent's state (point.yaml among it) is in
# /var/lib/etapiste (tmpfiles.d/etapiste.conf). Each file says who may read it: the kiosk gets its
# switchboard credential and the configuration, never the agent's fleet credentials.
install_configuration() {
    dir /etc/etapiste 755 root root
    if [ ! -L "$R/etc/etapiste/point.yaml" ] \
        || [ "$(readlink "$R/etc/etapiste/point.yaml")" != /var/lib/etapiste/point.yaml ]; then
        ln -sfn /var/lib/etapiste/point.yaml "$R/etc/etapiste/point.yaml"
        say "linked /etc/etapiste/point.yaml to the agent's /var/lib/etapiste/point.yaml"
        changed=$((changed + 1))
    fi
    local keys=$organiser_key
    [ -n "$keys" ] || { [ -n "$enrolment" ] && keys=$enrolment/organiser.trust.json; } || true
    if [ -n "$keys" ]; then
        put "$keys" /etc/etapiste/organiser.trust.json 644 root root
    fi
    [ -n "$enrolment" ] || return 0
    put "$enrolment/agent.env" /etc/etapiste/agent.env 640 root etapiste-agent
    dir /etc/etapiste/enrolment 750 root etapiste-agent
    local f
    for f in "$enrolment/credentials"/*; do
        put "$f" "/etc/etapiste/enrolment/$(basename "$f")" 640 root etapiste-agent
    done
    if [ -f "$enrolment/switchboard-credential" ]; then
        put "$enrolment/switchboard-credential" /etc/etapiste/switchboard-credential 640 root etapiste-kiosk
    fi
}

enable_units() {
    local before after
    local -a sc=(systemctl)
    [ "$live" = yes ] || sc=(systemctl --root="$root")
    before=$(find "$R/etc/systemd/system" -type l -printf '%p %l\n' 2>/dev/null | sort)
    [ "$live" = no ] || systemctl daemon-reload
    "${sc[@]}" enable --quiet "${ENABLED[@]}"
    # Ctrl+Alt+Del: nothing (system.conf.d/etapiste-point.conf stops the seven-press burst too).
    "${sc[@]}" mask --quiet ctrl-alt-del.target
    if [ -f "$R/lib/systemd/system/usbguard.service" ] || [ -f "$R/usr/lib/systemd/system/usbguard.service" ]; then
        "${sc[@]}" enable --quiet usbguard.service
    else
        say "warning: usbguard is not installed, so USB devices are not restricted (apt-get install usbguard)"
    fi
    after=$(find "$R/etc/systemd/system" -type l -printf '%p %l\n' 2>/dev/null | sort)
    [ "$before" = "$after" ] || { say "enabled ${ENABLED[*]}"; changed=$((changed + 1)); }
}

apply_live() {
    if [ "$live" = yes ]; then
        systemd-tmpfiles --create etapiste.conf
    else
        systemd-tmpfiles --root="$root" --create etapiste.conf
    fi
    live_run udevadm control --reload
    live_run udevadm trigger --subsystem-match=video4linux --subsystem-match=usb
    live_run systemctl try-restart cups.service
    live_run /lib/systemd/systemd-sysctl /etc/sysctl.d/99-zz-etapiste-point.conf
    live_run systemctl start etapiste-kiosk.path etapiste-kiosk-restart.path etapiste-reboot.path
    # (no nightly timer: the agent restarts the kiosk while the host is closed, provisioning/nightly.py)
    # A running agent picks up a new version now; a running kiosk is never restarted under a customer:
    # it gets the new version at the nightly restart. Both start only once enrolled / configured.
    # Everything is in place by now: a unit that does not come up is reported, not fatal.
    live_run systemctl try-restart etapiste-agent.service \
        || say "warning: the agent did not restart; see: journalctl -u etapiste-agent"
    live_run systemctl start etapiste-agent.service etapiste-kiosk.service \
        || say "warning: a unit did not start; see: systemctl status etapiste-agent etapiste-kiosk"
    # Last, because from here on a USB stick (this checkout's, say) is blocked.
    live_run systemctl restart usbguard.service \
        || say "warning: usbguard did not start; see: systemctl status usbguard (USB devices are not restricted)"
    say "USB: only the point's device classes are let in; 'usbguard list-devices --blocked' shows the rest"
}

do_install() {
    validate_inputs
    install_packages
    install_users
    install_venv
    install_system_files
    install_cups_privacy
    install_console
    install_configuration
    enable_units
    apply_live
    if [ "$changed" -eq 0 ]; then
        say "the point is installed; nothing changed"
    else
        say "the point is installed ($changed changes)"
    fi
    [ -n "$enrolment" ] || say "not enrolled yet: run again with --from-checkout --enrolment DIR (the organiser's package)"
}

# ---- the package way ------------------------------------------------------------------------------

APT_GET=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q)

install_repository() {
    dir /etc/apt/keyrings 755 root root
    put "$enrolment/repository/organiser-archive-keyring.gpg" "$APT_KEYRING" 644 root root
    put "$enrolment/repository/etapiste.sources" "$APT_SOURCE" 644 root root
    put "$enrolment/repository/etapiste.pref" "$APT_PIN" 644 root root
}

install_package() {
    local before after
    "${APT_GET[@]}" update || die "apt-get update failed: is the organiser's repository reachable and its key the one
  that signed it? (see the lines above)"
    before=$(dpkg-query -W -f='${Version}' etapiste-point 2>/dev/null || true)
    "${APT_GET[@]}" -y install etapiste-point || die "apt-get install etapiste-point failed (see the lines above)"
    after=$(dpkg-query -W -f='${Version}' etapiste-point)
    if [ "$before" != "$after" ]; then
        say "installed etapiste-point $after from the organiser's repository"
        changed=$((changed + 1))
    fi
}

# The units are enabled by the package; the agent waits for agent.env, so it is (re)started now.
start_agent() {
    if [ ! -d /run/systemd/system ]; then
        say "systemd is not running here (a chroot or an image build): the point starts at its next boot"
        return 0
    fi
    systemctl restart etapiste-agent.service \
        || say "warning: the agent did not start; see: journalctl -u etapiste-agent"
}

do_install_package() {
    validate_inputs
    install_repository
    install_package
    install_configuration
    start_agent
    if [ "$changed" -eq 0 ]; then
        say "the point is installed; nothing changed"
    else
        say "the point is installed ($changed changes); later versions come through the agent (software.version)"
    fi
}

do_uninstall_package() {
    "${APT_GET[@]}" -y purge etapiste-point || die "apt-get purge etapiste-point failed (see the lines above)"
    rm -f "$APT_SOURCE" "$APT_PIN" "$APT_KEYRING"
    say "uninstalled: etapiste-point purged (users, state, configuration and credentials), the repository removed"
}

# ---- the checkout way (development) --------------------------------------------------------------

do_uninstall() {
    local u
    if [ "$live" = yes ]; then
        systemctl disable --now --quiet "${ENABLED[@]}" 2>/dev/null || true
        systemctl stop etapiste-kiosk-backoff.timer 2>/dev/null || true
        # Without the point's policy, usbguard would block the keyboard at the next boot: stop it.
        systemctl disable --now --quiet usbguard.service 2>/dev/null || true
        systemctl unmask --quiet ctrl-alt-del.target 2>/dev/null || true
    else
        systemctl --root="$root" disable --quiet "${ENABLED[@]}" usbguard.service 2>/dev/null || true
        systemctl --root="$root" unmask --quiet ctrl-alt-del.target 2>/dev/null || true
    fi
    for u in "${UNITS[@]}"; do
        rm -f "$R/etc/systemd/system/$u"
    done
    rm -f "$R/etc/systemd/system/cups.service.d/etapiste-privacy.conf"
    rmdir "$R/etc/systemd/system/cups.service.d" 2>/dev/null || true
    rm -f "$R/etc/tmpfiles.d/etapiste.conf" "$R/etc/udev/rules.d/95-etapiste-kiosk.rules" \
          "$R/etc/pam.d/etapiste-kiosk" "$R/etc/sysusers.d/etapiste.conf" "$R/usr/libexec/etapiste/etapiste-update"
    rmdir "$R/usr/libexec/etapiste" "$R/usr/libexec" 2>/dev/null || true
    local entry src dest mode
    for entry in "${CONSOLE_FILES[@]}"; do
        IFS=: read -r src dest mode <<< "$entry"
        rm -f "$R$dest"
    done
    rm -f "$R$USB_LOCAL"
    if [ -f "$R$USB_SNAPSHOT" ]; then
        mv -f "$R$USB_SNAPSHOT" "$R/etc/usbguard/rules.conf"
    fi
    if [ -f "$R/etc/cups/cupsd.conf" ] && grep -qxF "$CUPS_BEGIN" "$R/etc/cups/cupsd.conf"; then
        local tmp
        tmp=$(mktemp)
        cupsd_conf_without_ours "$R/etc/cups/cupsd.conf" > "$tmp"
        chmod --reference="$R/etc/cups/cupsd.conf" "$tmp"
        chown --reference="$R/etc/cups/cupsd.conf" "$tmp"
        mv -f "$tmp" "$R/etc/cups/cupsd.conf"
    fi
    # The configuration and the credentials go too: a point taken out of service keeps no secret.
    rm -rf "$R/etc/etapiste" "$R/var/lib/etapiste" "$R/opt/etapiste/venv" "$R/run/etapiste" "$R/run/etapiste-kiosk"
    # The checkout may live in /opt/etapiste/src (docs/deployment-point.md): it stays.
    rmdir "$R/opt/etapiste" 2>/dev/null || true
    for u in etapiste-kiosk etapiste-agent; do
        if uid_of "$u" >/dev/null; then
            # --force as a fallback: the kiosk user's logind session may take a moment to end.
            if [ "$live" = yes ]; then
                userdel "$u" 2>/dev/null || userdel --force "$u"
            else
                userdel --root "$root" "$u"
            fi
        fi
        if gid_of "$u" >/dev/null; then
            if [ "$live" = yes ]; then groupdel "$u"; else groupdel --root "$root" "$u"; fi
        fi
    done
    # Directories only this installation needed (on a fresh Debian 12 they did not exist).
    rmdir "$R/etc/sysusers.d" "$R/etc/systemd/system/graphical.target.wants" 2>/dev/null || true
    rmdir "$R/etc/systemd/system/basic.target.wants" "$R/etc/systemd/system.conf.d" "$R/etc/sysctl.d" \
        "$R/etc/usbguard/rules.d" "$R/etc/usbguard" 2>/dev/null || true
    live_run systemctl daemon-reload
    live_run udevadm control --reload
    live_run systemctl try-restart cups.service
    say "uninstalled: units, rules, users, the venv, configuration and credentials are gone"
}

case "$mode.$action" in
    package.install) do_install_package ;;
    package.uninstall) do_uninstall_package ;;
    checkout.install) do_install ;;
    checkout.uninstall) do_uninstall ;;
esac
