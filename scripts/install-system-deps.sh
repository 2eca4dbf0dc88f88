#!/usr/bin/env bash
# Install the Debian packages the tests and the demo need, only when something is missing.
# Real peers in tests: dcmtk (echoscu/findscu/movescu/getscu/storescu, dcmqrscp), dicom3tools
# (dciodvfy), Orthanc + DICOMweb and GDCM plugins, PostgreSQL (storage tests), xmlsec1 (whitelist).
set -euo pipefail

need=()
command -v dcmdump    >/dev/null 2>&1 || need+=(dcmtk)
command -v dciodvfy   >/dev/null 2>&1 || need+=(dicom3tools)
command -v Orthanc    >/dev/null 2>&1 || [ -x /usr/sbin/Orthanc ] || need+=(orthanc)
[ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || need+=(orthanc-dicomweb)
[ -e /usr/share/orthanc/plugins/libOrthancGdcm.so ] || need+=(orthanc-gdcm)  # JPEG-LS decoding
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v xmlsec1    >/dev/null 2>&1 || need+=(xmlsec1)
command -v ip         >/dev/null 2>&1 || need+=(iproute2)

if [ ${#need[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
echo "system packages: installing ${need[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
