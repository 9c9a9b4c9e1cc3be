/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Raw SIP bytes (RFC 3261 requests and responses) through Sofia's parser,
 * the SIP front end's conversion (sip/convert.h) and the core
 * (stox_gateway_on_sip, stox_gateway_on_sip_response), record after
 * record on one gateway: see driver.h for the format and the promises.
 */
#include "config.h"

#include "fuzz/driver.h"
#include "fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  stox_fuzz_driver_run (data, size, STOX_FUZZ_RECORD_SIP);
  return 0;
}
