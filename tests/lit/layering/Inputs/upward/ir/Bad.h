// The IR reaching up into the language and the training loop.
#include "frontend/Program.h"
#include "ir/IR.h"
#include "support/Types.h"
#include "training/Trainer.h"
