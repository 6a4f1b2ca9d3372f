#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kapctl against the real module: not written yet.
. "$(dirname "$0")/functions.sh"
skip_all "kapctl's VM test is not written yet"
