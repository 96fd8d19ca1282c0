#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 machine (run as root or with sudo).
# Real components, no mocks: openssl, xmllint, SoftHSM2 (+ opensc's pkcs11-tool), OpenLDAP
# slapd and ldap-utils, valgrind, PostgreSQL, Postfix. slapd, PostgreSQL and Postfix are never
# started as system services: the tests start their own instances in temporary directories
# (Postfix with `postfix -c DIR start` on 127.0.0.2/127.0.0.3; /etc/postfix stays unconfigured).
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
pkgs=(openssl libssl-dev pkg-config libxml2-utils softhsm2 opensc slapd ldap-utils valgrind make gcc g++ perl
      libtest-pod-perl python3-venv binutils postgresql python3-dkim
      python3-authheaders python3-spf dnsmasq-base postfix gnupg)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  echo 'slapd slapd/no_configuration boolean true' | $SUDO debconf-set-selections
  # Postfix: no system configuration (/etc/postfix is never used by the tests)
  printf '%s\n' 'postfix postfix/main_mailer_type select No configuration' \
    'postfix postfix/mailname string localhost' | $SUDO debconf-set-selections
  # never start system services from package scripts
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# cargo-deny for `cargo deny check` (licences, bans, sources: deny.toml). Built from crates.io
# once per machine: about 3.5 min of CPU (24 min wall on a machine shared by six builds).
CARGO_DENY_VERSION=0.20.2
if ! cargo deny --version 2>/dev/null | grep -q " $CARGO_DENY_VERSION\$"; then
  echo "installing cargo-deny $CARGO_DENY_VERSION (cargo install --locked)"
  cargo install --locked --quiet "cargo-deny@$CARGO_DENY_VERSION"
fi
echo "dependencies ready"
