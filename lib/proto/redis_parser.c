/* redis_parser.c -- RESP framing of one direction: commands (arrays of bulk strings, inline lines) or replies
 * (RESP2 and RESP3 values, nested aggregates, attributes), bulk bodies skipped by length across capture gaps.
 *
 * One counter per level stands in for a stack: top_left counts the top aggregate's children still to come,
 * inner_left the values that complete the child being read (a nested aggregate of n adds n - 1), attr_left the
 * values of an attribute ('|', which precedes a value and is none itself). */
#include <string.h>

#include "lib/proto/redis.h"

enum { RD_TYPE = 0, RD_NUM, RD_NUM_LF, RD_LINE, RD_BODY, RD_INLINE };
enum { L_TOP = 0, L_ATTR, L_CHILD, L_INNER };

#define BULK_MAX (1ull << 32) /* a bulk string or an aggregate announcing more is not Redis (512 MB is its cap) */
#define ARGS_MAX (1u << 24)   /* arguments of one command */

void redis_reader__init(struct redis_reader *r, enum redis_msg_kind kind)
{
	memset(r, 0, sizeof(*r));
	r->kind = kind;
}

static void msg_begin(struct redis_reader *r, uint64_t now_ns)
{
	memset(&r->m, 0, sizeof(r->m));
	r->m.ival = -1;
	r->m.start_ns = now_ns;
	r->in_msg = 1;
	r->have_top = 0;
	r->top_left = r->inner_left = r->attr_left = 0;
	r->child = 0;
	r->len[0] = r->len[1] = 0;
}

void redis_reader__lose(struct redis_reader *r)
{
	r->lost = 1;
	r->in_msg = 0;
	r->st = RD_TYPE;
	r->cap = 0;
}

static enum redis_step fail(struct redis_reader *r)
{
	r->errors++;
	if (!r->in_msg)
		r->m.top = 0; /* m.top tells the caller a message was cut */
	redis_reader__lose(r);
	return REDIS_LOST;
}

static bool is_reply_type(uint8_t c)
{
	return c && strchr("+-:$*_,#!=(%~|>", c) != NULL;
}

static bool is_bulk(uint8_t t)
{
	return t == '$' || t == '!' || t == '=';
}

/* the byte @ch of the captured value: commands are kept uppercased */
static void keep(struct redis_reader *r, uint8_t ch)
{
	int s = r->cap - 1;

	if (r->len[s] >= REDIS_WORD - 1)
		return;
	if (r->kind == REDIS_MSG_COMMAND && ch >= 'a' && ch <= 'z')
		ch -= 'a' - 'A';
	r->m.word[s][r->len[s]++] = (char)ch;
}

static int64_t parse_int(const char *s)
{
	int64_t v = 0;
	bool neg = *s == '-';

	if (*s == '-' || *s == '+')
		s++;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return neg ? -v : v;
}

/* a value ended (a scalar, or an empty or null aggregate): true when that completes the message */
static bool value_end(struct redis_reader *r)
{
	if (r->cap == 1 && r->lvl == L_CHILD && r->child == 2 && r->kind == REDIS_MSG_REPLY) {
		r->m.ival = parse_int(r->m.word[0]);
		r->m.word[0][0] = '\0';
		r->len[0] = 0;
	}
	r->cap = 0;
	r->st = RD_TYPE;
	if (r->attr_left) {
		r->attr_left--;
		return false;
	}
	if (!r->top_left && !r->inner_left && r->lvl == L_TOP)
		return true; /* the top value was this scalar */
	if (r->inner_left && --r->inner_left)
		return false;
	r->child++;
	return --r->top_left == 0;
}

/* the level of the value whose type byte was just read */
static uint8_t level(const struct redis_reader *r)
{
	if (r->attr_left)
		return L_ATTR;
	if (!r->have_top)
		return L_TOP;
	return r->inner_left ? L_INNER : L_CHILD;
}

/* a type byte; false: not one this reader takes here */
static bool value_type(struct redis_reader *r, uint8_t t)
{
	r->lvl = level(r);
	r->type = t;
	r->cap = 0;
	if (r->kind == REDIS_MSG_COMMAND) {
		if (r->lvl == L_TOP ? t != '*' : t != '$')
			return false;
	} else if (!is_reply_type(t)) {
		return false;
	}
	if (r->lvl == L_TOP && t != '|')
		r->m.top = t;
	if (strchr("$!=*%~>|", t)) {
		r->st = RD_NUM;
		r->num = 0;
		r->neg = r->digits = 0;
		return true;
	}
	/* a line: + - : _ , # ( */
	r->st = RD_LINE;
	r->line = 0;
	r->was_cr = 0;
	if (r->lvl == L_TOP && t == '-')
		r->cap = 1; /* the error's prefix */
	else if (r->lvl == L_CHILD && r->child == 0)
		r->cap = 2; /* a pub/sub message's kind */
	else if (r->lvl == L_CHILD && r->child == 2 && t == ':')
		r->cap = 1; /* a confirmation's count */
	if (r->lvl == L_TOP)
		r->have_top = 1;
	return true;
}

/* the count or length line ended: returns 1 when the message is complete, 0 to go on, -1 on an error */
static int header(struct redis_reader *r)
{
	uint64_t n = r->num;
	uint8_t t = r->type;

	if (r->neg && !(n == 1 && t != '|' && t != '>'))
		return -1; /* only "-1" (a null) has a sign */
	if (n > BULK_MAX)
		return -1;
	if (r->lvl == L_TOP && t != '|')
		r->have_top = 1;
	if (is_bulk(t)) {
		if (r->neg)
			return value_end(r);
		r->body = n + 2;
		r->st = RD_BODY;
		if (r->kind == REDIS_MSG_COMMAND)
			r->cap = r->child < 2 ? r->child + 1 : 0;
		else if (r->lvl == L_TOP && t == '!')
			r->cap = 1;
		else if (r->lvl == L_CHILD && r->child == 0)
			r->cap = 2;
		return 0;
	}
	if (r->neg) { /* a null aggregate */
		r->m.empty = r->lvl == L_TOP;
		return value_end(r);
	}
	if (t == '%' || t == '|')
		n *= 2;
	if (r->kind == REDIS_MSG_COMMAND) {
		if (n > ARGS_MAX)
			return -1;
		r->m.args = n ? (uint32_t)(n - 1) : 0;
	}
	r->st = RD_TYPE;
	if (t == '|') { /* an attribute: its values come before the value it describes */
		if (r->lvl == L_INNER)
			r->inner_left += n;
		else
			r->attr_left += n;
		return 0;
	}
	if (!n) {
		r->m.empty = r->lvl == L_TOP;
		return value_end(r);
	}
	switch (r->lvl) {
	case L_ATTR:
		r->attr_left += n - 1;
		break;
	case L_TOP:
		r->top_left = n;
		if (r->kind == REDIS_MSG_REPLY)
			r->m.args = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
		break;
	case L_INNER:
		r->inner_left += n - 1;
		break;
	default: /* a child that is an aggregate */
		r->inner_left = n;
		break;
	}
	return 0;
}

/* one byte of an inline command line (not its '\n'); false on what no inline command holds */
static bool inline_byte(struct redis_reader *r, uint8_t ch)
{
	if (ch < 0x20 && ch != '\t' && ch != '\r')
		return false;
	if (++r->line > REDIS_LINE_MAX)
		return false;
	if (ch == '\r')
		return true;
	if (r->quote) {
		if (r->esc)
			r->esc = 0;
		else if (r->quote == '"' && ch == '\\')
			r->esc = 1;
		else if (ch == r->quote)
			r->quote = 0;
		else if (r->cap)
			keep(r, ch);
		return true;
	}
	if (ch == ' ' || ch == '\t') {
		r->inword = 0;
		r->cap = 0;
		return true;
	}
	if (!r->inword) {
		r->inword = 1;
		r->m.args++; /* words, for now */
		r->cap = r->m.args <= 2 ? (uint8_t)r->m.args : 0;
	}
	if (ch == '"' || ch == '\'')
		r->quote = ch;
	else if (r->cap)
		keep(r, ch);
	return true;
}

enum redis_step redis_reader__feed(struct redis_reader *r, const uint8_t *buf, size_t len, size_t *used,
				   uint64_t now_ns)
{
	size_t i = 0;
	int done = 0;

	*used = 0;
	if (r->lost)
		return REDIS_MORE;
	while (i < len && !done) {
		uint8_t ch = buf[i];

		if (r->st == RD_BODY) {
			uint64_t data = r->body > 2 ? r->body - 2 : 0;

			if (data) {
				size_t k = len - i < data ? len - i : (size_t)data;

				if (r->cap)
					for (size_t j = 0; j < k && r->len[r->cap - 1] < REDIS_WORD - 1; j++)
						keep(r, buf[i + j]);
				i += k;
				r->m.bytes += k;
				r->body -= k;
				continue;
			}
			if (ch != (r->body == 2 ? '\r' : '\n'))
				goto bad;
			i++;
			r->m.bytes++;
			if (--r->body == 0)
				done = value_end(r);
			continue;
		}
		i++;
		if (r->in_msg)
			r->m.bytes++;
		switch (r->st) {
		case RD_TYPE:
			if (!r->in_msg) {
				if (r->kind == REDIS_MSG_COMMAND && (ch == '\r' || ch == '\n'))
					continue; /* empty lines between commands: Redis skips them */
				msg_begin(r, now_ns);
				r->m.bytes = 1;
				if (r->kind == REDIS_MSG_COMMAND && ch != '*') {
					r->st = RD_INLINE;
					r->line = 0;
					r->quote = r->esc = r->inword = 0;
					r->cap = 0;
					r->m.inline_cmd = 1;
					if (!inline_byte(r, ch))
						goto bad;
					continue;
				}
			}
			if (!value_type(r, ch))
				goto bad;
			break;
		case RD_NUM:
			if (ch == '-' && !r->digits && !r->neg) {
				r->neg = 1;
			} else if (ch >= '0' && ch <= '9' && r->digits < 12) {
				r->num = r->num * 10 + (ch - '0');
				r->digits++;
			} else if (ch == '\r' && r->digits) {
				r->st = RD_NUM_LF;
			} else {
				goto bad; /* "?" (a streamed aggregate) included: Redis never sends one */
			}
			break;
		case RD_NUM_LF: {
			int h;

			if (ch != '\n')
				goto bad;
			h = header(r);
			if (h < 0)
				goto bad;
			done = h;
			break;
		}
		case RD_LINE:
			if (r->was_cr) {
				if (ch != '\n')
					goto bad;
				done = value_end(r);
			} else if (ch == '\r') {
				r->was_cr = 1;
			} else if (ch == '\n' || ++r->line > REDIS_LINE_MAX) {
				goto bad;
			} else if (r->type == ':' && !((ch >= '0' && ch <= '9') || (r->line == 1 && ch == '-'))) {
				goto bad;
			} else if (r->cap) {
				keep(r, ch);
			}
			break;
		case RD_INLINE:
			if (ch != '\n') {
				if (!inline_byte(r, ch))
					goto bad;
				break;
			}
			if (r->quote)
				goto bad; /* unbalanced quotes */
			if (!r->m.args) { /* only blanks */
				r->in_msg = 0;
				r->st = RD_TYPE;
				break;
			}
			r->m.args--; /* words after the name */
			r->cap = 0;
			r->st = RD_TYPE;
			done = 1;
			break;
		default:
			goto bad;
		}
	}
	*used = i;
	if (done) {
		r->in_msg = 0;
		r->st = RD_TYPE;
		r->cap = 0;
		return REDIS_MESSAGE;
	}
	return REDIS_MORE;
bad:
	*used = len;
	return fail(r);
}

enum redis_step redis_reader__gap(struct redis_reader *r, uint64_t n)
{
	if (r->lost || !n)
		return REDIS_MORE;
	if (r->st != RD_BODY || n > r->body)
		return fail(r); /* what the uncaptured bytes held decides where messages end: unknown */
	if (r->cap) {		/* a word cut by a gap is no word we know */
		r->m.word[r->cap - 1][0] = '\0';
		r->len[r->cap - 1] = REDIS_WORD - 1;
	}
	r->body -= n;
	r->m.bytes += n;
	if (r->body || !value_end(r))
		return REDIS_MORE;
	r->in_msg = 0;
	r->st = RD_TYPE;
	return REDIS_MESSAGE;
}
