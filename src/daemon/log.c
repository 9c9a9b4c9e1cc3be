/* placeholder: being written */
#include "config.h"
typedef int stox_placeholder_daemon_log_c;
