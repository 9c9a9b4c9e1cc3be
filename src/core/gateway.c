/* placeholder: being written */
#include "config.h"
typedef int stox_placeholder_core_gateway_c;
