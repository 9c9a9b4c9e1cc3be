/* placeholder: being written */
#include "config.h"
typedef int stox_placeholder_core_rules_c;
