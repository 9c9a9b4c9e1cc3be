/* placeholder: being written */
#include "config.h"
typedef int stox_placeholder_sip_endpoint_c;
