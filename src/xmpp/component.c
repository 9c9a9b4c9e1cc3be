/* placeholder: being written */
#include "config.h"
typedef int stox_placeholder_xmpp_component_c;
