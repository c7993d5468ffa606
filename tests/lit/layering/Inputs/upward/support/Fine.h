#include "support/Types.h"
#include <vector>
