# Writes OUT, a C++ source defining the bytes of IN as
# nabla::codegen::${SYMBOL} and its size as ${SYMBOL}Size.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" digits)
math(EXPR size "${digits} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n"
       bytes "${bytes}")
file(WRITE "${OUT}.tmp"
     "// Generated from ${IN} by cmake/EmbedFile.cmake.\n#include <cstddef>\n"
     "namespace nabla::codegen {\nextern const unsigned char ${SYMBOL}[] = {\n${bytes}};\n"
     "extern const size_t ${SYMBOL}Size = ${size};\n}\n")
file(RENAME "${OUT}.tmp" "${OUT}")
