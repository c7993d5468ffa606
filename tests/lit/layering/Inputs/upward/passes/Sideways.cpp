#include "codegen/Compiler.h"
#include "ir/IR.h"
