/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stoxd --version: the gateway's version and that of every library it
 * runs with, for bug reports and for checking what an upgrade changed.
 */
#pragma once

#include <stdio.h>

void stox_version_print (FILE *out);
