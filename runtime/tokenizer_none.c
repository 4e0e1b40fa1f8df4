/* tokenizer_none.c: the tokenizer data of a binary linked without any.
 *
 * A weak definition: the generated data (build/tokenizers/<name>.o, see
 * tokenizer_data.h) overrides it when it is linked too. A build that leaves
 * it out (another backend's link line, say) still links, and the binary
 * says so when asked to tokenize. It lives in its own file so that no
 * compiler folds its values into the code that reads the real data. */
#include <stddef.h>

#include "tokenizer_data.h"

__attribute__((weak)) const struct df_tokenizer_data df_tokenizer_data = {
    .name = "none",
    .unsupported = "this binary was linked without tokenizer data",
    .bos = -1,
    .eos = -1,
    .chat_unsupported = "this binary was linked without tokenizer data",
};
