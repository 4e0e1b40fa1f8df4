/* subcommands.c: the table of subcommands. */
#include "subcommands.h"

#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "tokenizer_cli.h"
#include "verify.h"

static const struct df_subcommand table[] = {
    { "verify", "check a weights file (signature, every chunk) and print one JSON line", df_verify_command },
    { "tokenize", "stdin text -> token ids (--bos, --chat, --jsonl); the embedded tokenizer", df_cmd_tokenize },
    { "detokenize", "stdin token ids -> text", df_cmd_detokenize },
    { "audit", "a JSON record of this binary, its weights and its outputs; --check RECORD re-derives it",
      df_audit_command },
    { NULL, NULL, NULL },
};

bool df_run_subcommand(int argc, char **argv, int *rc)
{
    if (argc < 2)
        return false;
    for (const struct df_subcommand *c = table; c->name; c++) {
        if (!strcmp(argv[1], c->name)) {
            *rc = c->run(argc, argv);
            return true;
        }
    }
    return false;
}

void df_list_subcommands(void *file)
{
    for (const struct df_subcommand *c = table; c->name; c++)
        fprintf((FILE *)file, "  %-18s %s\n", c->name, c->summary);
}
