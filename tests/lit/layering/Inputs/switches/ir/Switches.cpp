bool listed(OpKind kind) {
  switch (kind) {
  case OpKind::Add: return true;
  case OpKind::Sub: return false;
  }
}
bool hidden(OpKind kind) {
  switch (kind) {
  case OpKind::Add: {
    switch (other) {
    case Place::Arena: return true;
    default: return false;
    }
  }
  default: return false;
  }
}
int tokens(TokenKind kind) {
  switch (kind) {
  case TokenKind::Eof: return 0;
  default: return 1;
  }
}
double family(UnaryOp kind) {
  switch (kind) {
  case ir::UnaryOp::Exp: return 1;
  default: return 0;
  }
}
