/* postgres_sql.h -- SQL text as PostgreSQL spans show it: literals out, the verb, the one obvious table.
 *
 * Pure (no malloc, no I/O): the shim runs it on statements it reads in the traced program. */
#ifndef OBSPROBE_POSTGRES_SQL_H
#define OBSPROBE_POSTGRES_SQL_H

#include <stdbool.h>
#include <stddef.h>

/* @in (@len bytes, maybe cut short by the capture) into @out (@outlen > 0, NUL-terminated): every string
 * ('..', E'..', U&'..', B'..', X'..', N'..', $$..$$, $tag$..$tag$) and number literal becomes '?', comments
 * (-- and nested slash-star) are dropped, whitespace runs become one space.  $1 placeholders, identifiers,
 * keywords, "quoted identifiers" and operators are kept.  A literal cut off by the end of @in is still '?'
 * (a cut statement never shows the start of a value).  Returns the length written; *cut is set when @out
 * was too small (the text ends at a token boundary). */
size_t pgsql__normalize(const char *in, size_t len, char *out, size_t outlen, bool *cut);

/* the operation a normalised statement starts with, upper case ("SELECT"; "CREATE TABLE" for CREATE/DROP/
 * ALTER with their object), into @op (@oplen); "" when it does not start with a word */
void pgsql__verb(const char *norm, char *op, size_t oplen);

/* the operation a CommandComplete tag names ("INSERT 0 1" -> "INSERT", "CREATE TABLE" -> "CREATE TABLE") */
void pgsql__tag_verb(const char *tag, size_t len, char *op, size_t oplen);

/* the single table a normalised statement acts on, as written ("public.t", "\"T\""), into @out; false when
 * it is not exactly one (joins, subqueries, lists, none) */
bool pgsql__collection(const char *norm, char *out, size_t outlen);

/* @op when it is one of a fixed list of SQL operations, else "_OTHER" (a bounded metric label) */
const char *pgsql__op_label(const char *op);

#endif
