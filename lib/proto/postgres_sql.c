/* postgres_sql.c -- SQL text as PostgreSQL spans show it: literals out, the verb, the one obvious table */
#include <string.h>

#include "lib/proto/postgres_sql.h"

static bool is_ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_ident(unsigned char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* ---- normalisation ---- */

struct out {
	char *p;
	size_t n, cap; /* cap: room for text, the NUL excluded */
	bool space;    /* whitespace (or a comment) came before the next token */
	bool full;     /* a token did not fit: nothing more is written */
};

static void put(struct out *o, const char *s, size_t n)
{
	size_t sp = o->space && o->n;

	if (o->full)
		return;
	if (o->n + sp + n > o->cap) {
		o->full = true;
		return;
	}
	if (sp)
		o->p[o->n++] = ' ';
	memcpy(o->p + o->n, s, n);
	o->n += n;
	o->space = false;
}

/* the end of a '..' literal starting at @i (the quote); @esc: backslash escapes (E'..') */
static size_t skip_string(const char *s, size_t len, size_t i, bool esc)
{
	for (i++; i < len; i++) {
		if (esc && s[i] == '\\') {
			i++;
			continue;
		}
		if (s[i] == '\'') {
			if (i + 1 < len && s[i + 1] == '\'') {
				i++;
				continue;
			}
			return i + 1;
		}
	}
	return len;
}

/* a dollar quote's tag at @i ("$$", "$tag$"): its length, or 0 when @i does not start one */
static size_t dollar_tag(const char *s, size_t len, size_t i)
{
	size_t j = i + 1;

	if (j < len && s[j] == '$')
		return 2;
	if (j >= len || !is_ident_start((unsigned char)s[j]))
		return 0;
	while (j < len && is_ident((unsigned char)s[j]) && s[j] != '$')
		j++;
	return j < len && s[j] == '$' ? j - i + 1 : 0;
}

static size_t skip_dollar(const char *s, size_t len, size_t i, size_t tag)
{
	for (size_t j = i + tag; j + tag <= len; j++)
		if (s[j] == '$' && !memcmp(s + j, s + i, tag))
			return j + tag;
	return len;
}

static size_t skip_number(const char *s, size_t len, size_t i)
{
	if (s[i] == '0' && i + 1 < len && s[i + 1] && strchr("xXoObB", s[i + 1])) {
		for (i += 2; i < len && (is_ident((unsigned char)s[i])); i++)
			;
		return i;
	}
	while (i < len && (is_digit((unsigned char)s[i]) || s[i] == '_'))
		i++;
	if (i < len && s[i] == '.')
		for (i++; i < len && (is_digit((unsigned char)s[i]) || s[i] == '_'); i++)
			;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t j = i + 1;

		if (j < len && (s[j] == '+' || s[j] == '-'))
			j++;
		if (j < len && is_digit((unsigned char)s[j]))
			for (i = j; i < len && is_digit((unsigned char)s[i]); i++)
				;
	}
	return i;
}

size_t pgsql__normalize(const char *in, size_t len, char *outbuf, size_t outlen, bool *cut)
{
	struct out o = { .p = outbuf, .cap = outlen - 1 };
	size_t i = 0;

	while (i < len && !o.full) {
		unsigned char c = (unsigned char)in[i];

		if (!c)
			break; /* a query string ends at its NUL */
		if (is_space(c) || c < 0x20 || c == 0x7f) {
			o.space = true;
			i++;
		} else if (c == '-' && i + 1 < len && in[i + 1] == '-') {
			while (i < len && in[i] != '\n')
				i++;
			o.space = true;
		} else if (c == '/' && i + 1 < len && in[i + 1] == '*') {
			int depth = 0;

			while (i < len) {
				if (in[i] == '/' && i + 1 < len && in[i + 1] == '*') {
					depth++;
					i += 2;
				} else if (in[i] == '*' && i + 1 < len && in[i + 1] == '/') {
					i += 2;
					if (!--depth)
						break;
				} else {
					i++;
				}
			}
			o.space = true;
		} else if (c == '\'') {
			i = skip_string(in, len, i, false);
			put(&o, "?", 1);
		} else if (c == '$' && i + 1 < len && is_digit((unsigned char)in[i + 1])) {
			size_t j = i + 1;

			while (j < len && is_digit((unsigned char)in[j]))
				j++;
			put(&o, in + i, j - i); /* a parameter placeholder: kept */
			i = j;
		} else if (c == '$' && dollar_tag(in, len, i)) {
			i = skip_dollar(in, len, i, dollar_tag(in, len, i));
			put(&o, "?", 1);
		} else if (is_digit(c) || (c == '.' && i + 1 < len && is_digit((unsigned char)in[i + 1]))) {
			i = skip_number(in, len, i);
			put(&o, "?", 1);
		} else if (c == '"') {
			size_t j = i + 1;

			while (j < len && in[j] && in[j] != '"')
				j++;
			while (j + 1 < len && in[j] == '"' && in[j + 1] == '"') /* "" inside: go on */
				for (j += 2; j < len && in[j] && in[j] != '"'; j++)
					;
			if (j < len && in[j] == '"')
				j++;
			put(&o, in + i, j - i);
			i = j;
		} else if (is_ident_start(c)) {
			size_t j = i;

			while (j < len && is_ident((unsigned char)in[j]))
				j++;
			if (j - i == 1 && j < len && in[j] == '\'' && strchr("eEbBxXnN", c)) {
				i = skip_string(in, len, j, c == 'e' || c == 'E'); /* E'..', B'..', X'..', N'..' */
				put(&o, "?", 1);
			} else if (j - i == 1 && (c == 'u' || c == 'U') && j + 1 < len && in[j] == '&' &&
				   in[j + 1] == '\'') {
				i = skip_string(in, len, j + 1, false); /* U&'..' */
				put(&o, "?", 1);
			} else {
				put(&o, in + i, j - i);
				i = j;
			}
		} else {
			put(&o, in + i, 1); /* an operator or punctuation */
			i++;
		}
	}
	outbuf[o.n] = '\0';
	*cut = o.full;
	return o.n;
}

/* ---- tokens of a normalised statement ---- */

struct tok {
	const char *s;
	size_t n;
};

/* the next token of @p into @t (words, "quoted identifiers", single characters); false at the end */
static bool next_tok(const char **p, struct tok *t)
{
	const char *s = *p;

	while (*s == ' ')
		s++;
	if (!*s)
		return false;
	t->s = s;
	if (is_ident((unsigned char)*s)) {
		while (is_ident((unsigned char)*s))
			s++;
	} else if (*s == '"') {
		for (s++; *s && *s != '"'; s++)
			;
		if (*s)
			s++;
	} else {
		s++;
	}
	t->n = s - t->s;
	*p = s;
	return true;
}

static bool tok_is(const struct tok *t, const char *kw)
{
	size_t n = strlen(kw);

	if (t->n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (upper(t->s[i]) != kw[i])
			return false;
	return true;
}

static bool tok_name(const struct tok *t)
{
	return t->n && (t->s[0] == '"' || is_ident_start((unsigned char)t->s[0]));
}

static void word_upper(char *out, size_t outlen, const char *s, size_t n)
{
	if (n >= outlen)
		n = outlen - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = upper(s[i]);
	out[n] = '\0';
}

/* @first (and @second when it names the object of CREATE/DROP/ALTER and both fit) into @op */
static void verb_of(const struct tok *first, const struct tok *second, char *op, size_t oplen)
{
	op[0] = '\0';
	if (!first || !first->n || !is_ident_start((unsigned char)first->s[0]))
		return;
	if (second && second->n && is_ident_start((unsigned char)second->s[0]) &&
	    (tok_is(first, "CREATE") || tok_is(first, "DROP") || tok_is(first, "ALTER")) &&
	    first->n + 1 + second->n < oplen) {
		word_upper(op, oplen, first->s, first->n);
		op[first->n] = ' ';
		word_upper(op + first->n + 1, oplen - first->n - 1, second->s, second->n);
		return;
	}
	word_upper(op, oplen, first->s, first->n);
}

void pgsql__verb(const char *norm, char *op, size_t oplen)
{
	struct tok a, b;
	const char *p = norm;
	bool have_b;

	if (!next_tok(&p, &a)) {
		op[0] = '\0';
		return;
	}
	have_b = next_tok(&p, &b);
	/* CREATE OR REPLACE VIEW, CREATE UNIQUE INDEX, CREATE TEMP TABLE: the object is the next word */
	while (have_b && (tok_is(&b, "OR") || tok_is(&b, "REPLACE") || tok_is(&b, "UNIQUE") || tok_is(&b, "TEMP") ||
			  tok_is(&b, "TEMPORARY") || tok_is(&b, "UNLOGGED")))
		have_b = next_tok(&p, &b);
	verb_of(&a, have_b ? &b : NULL, op, oplen);
}

void pgsql__tag_verb(const char *tag, size_t len, char *op, size_t oplen)
{
	struct tok t[2] = { { tag, 0 }, { tag, 0 } };
	size_t i = 0;

	for (int k = 0; k < 2; k++) {
		while (i < len && tag[i] == ' ')
			i++;
		t[k].s = tag + i;
		while (i < len && tag[i] >= 'A' && tag[i] <= 'Z')
			i++;
		t[k].n = tag + i - t[k].s;
		if (i < len && tag[i] != ' ')
			break; /* a digit or anything else ends the words */
	}
	verb_of(&t[0], t[1].n ? &t[1] : NULL, op, oplen);
}

bool pgsql__collection(const char *norm, char *out, size_t outlen)
{
	static const char *const intro[] = { "FROM", "JOIN", "INTO", "UPDATE", "TABLE", "USING" };
	const char *p = norm, *name = NULL;
	struct tok t, first;
	int selects = 0, intros = 0;
	bool copy_or_trunc;
	size_t n;

	if (!next_tok(&p, &first))
		return false;
	copy_or_trunc = tok_is(&first, "COPY") || tok_is(&first, "TRUNCATE");
	if (copy_or_trunc)
		name = p; /* COPY t ...; TRUNCATE [TABLE] t */
	for (p = norm; next_tok(&p, &t);) {
		selects += tok_is(&t, "SELECT");
		for (size_t i = 0; i < sizeof(intro) / sizeof(intro[0]); i++)
			if (tok_is(&t, intro[i]) && !copy_or_trunc) {
				intros++;
				name = p;
			}
	}
	if (!name || selects > (tok_is(&first, "SELECT") ? 1 : 0) || (!copy_or_trunc && intros != 1))
		return false;
	/* the name: [ONLY] [IF [NOT] EXISTS] ident[.ident[.ident]] */
	p = name;
	if (!next_tok(&p, &t))
		return false;
	while (tok_is(&t, "ONLY") || tok_is(&t, "IF") || tok_is(&t, "NOT") || tok_is(&t, "EXISTS") ||
	       (tok_is(&t, "TABLE") && copy_or_trunc))
		if (!next_tok(&p, &t))
			return false;
	if (!tok_name(&t))
		return false;
	name = t.s;
	for (;;) {
		const char *q = p;
		struct tok dot;

		if (!next_tok(&q, &dot) || dot.n != 1 || dot.s[0] != '.' || dot.s != t.s + t.n || !next_tok(&q, &t) ||
		    !tok_name(&t) || t.s != dot.s + 1)
			break;
		p = q;
	}
	n = t.s + t.n - name;
	/* what follows must not make it a list or a call: "t, u", "t a, u", "f(...)" outside INSERT/CREATE */
	{
		const char *q = p;
		struct tok after;

		if (next_tok(&q, &after)) {
			if (after.n == 1 && after.s[0] == ',')
				return false;
			if (after.n == 1 && after.s[0] == '(' && !tok_is(&first, "INSERT") &&
			    !tok_is(&first, "CREATE") && !tok_is(&first, "COPY"))
				return false;
			if (tok_is(&after, "AS") && !next_tok(&q, &after))
				return false;
			if (tok_name(&after) && next_tok(&q, &after) && after.n == 1 && after.s[0] == ',')
				return false;
		}
	}
	if (n >= outlen)
		return false; /* a name cut short would be another name */
	memcpy(out, name, n);
	out[n] = '\0';
	return true;
}

const char *pgsql__op_label(const char *op)
{
	static const char *const known[] = {
		"SELECT",      "INSERT",      "UPDATE",	      "DELETE",	      "MERGE",	     "COPY",
		"FETCH",       "MOVE",	      "BEGIN",	      "START",	      "COMMIT",	     "ROLLBACK",
		"SAVEPOINT",   "RELEASE",     "PREPARE",      "EXECUTE",      "DEALLOCATE",  "DECLARE",
		"CLOSE",       "SET",	      "SHOW",	      "RESET",	      "DISCARD",     "LISTEN",
		"UNLISTEN",    "NOTIFY",      "LOCK",	      "TRUNCATE",     "VACUUM",	     "ANALYZE",
		"EXPLAIN",     "CALL",	      "DO",	      "GRANT",	      "REVOKE",	     "CHECKPOINT",
		"REFRESH",     "COMMENT",     "CREATE TABLE", "CREATE INDEX", "CREATE VIEW", "CREATE SCHEMA",
		"CREATE ROLE", "CREATE USER", "DROP TABLE",   "DROP INDEX",   "DROP VIEW",   "DROP SCHEMA",
		"DROP ROLE",   "DROP USER",   "ALTER TABLE",  "ALTER ROLE",   "ALTER USER",  "CREATE",
		"DROP",	       "ALTER",
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(op, known[i]))
			return known[i];
	return "_OTHER";
}
