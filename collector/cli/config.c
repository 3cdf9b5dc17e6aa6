/* config.c -- the --config JSON file into struct env, key by key, as the flags would set it */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/config.h"
#include "cli/options.h"

#define CONFIG_MAX_BYTES (1 << 20)

static int scalar_text(const cJSON *v, char *buf, size_t len, const char **out)
{
	if (cJSON_IsString(v)) {
		*out = v->valuestring;
		return 0;
	}
	if (cJSON_IsNumber(v)) {
		snprintf(buf, len, "%.15g", v->valuedouble);
		*out = buf;
		return 0;
	}
	return -1;
}

static int config_item(struct env *env, const struct optdef *o, const cJSON *v, const char *what)
{
	char buf[64], list[2048];
	const char *text;
	const cJSON *e;
	int rc;

	if (!o->has_arg) {
		if (o->val == OPT_VERBOSE && cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 9 &&
		    v->valuedouble == (int)v->valuedouble) {
			env->verbose = (int)v->valuedouble;
			return 0;
		}
		if (!cJSON_IsBool(v))
			BAD("%s: expected true or false", what);
		options__set_flag(env, o->val, cJSON_IsTrue(v));
		return 0;
	}
	if (o->val == OPT_BUCKETS && cJSON_IsArray(v)) { /* [0.001, 0.01] */
		list[0] = '\0';
		cJSON_ArrayForEach(e, v)
		{
			if (!cJSON_IsNumber(e))
				BAD("%s: expected a list of numbers of seconds, e.g. [0.001, 0.01, 0.1]", what);
			snprintf(buf, sizeof(buf), "%s%.15g", list[0] ? "," : "", e->valuedouble);
			if (strlen(list) + strlen(buf) >= sizeof(list))
				BAD("%s: too many boundaries", what);
			strcat(list, buf);
		}
		return options__apply(env, o->val, list, what);
	}
	if (options__is_list(o->val) && cJSON_IsArray(v)) {
		cJSON_ArrayForEach(e, v)
		{
			if (scalar_text(e, buf, sizeof(buf), &text))
				BAD("%s: expected a list of strings", what);
			if ((rc = options__apply(env, o->val, text, what)))
				return rc;
		}
		return 0;
	}
	if (scalar_text(v, buf, sizeof(buf), &text))
		BAD("%s: expected a %s", what,
		    options__is_list(o->val) ? "string or a list of strings" : "string or number");
	return options__apply(env, o->val, text, what);
}

/* the file's text, NUL-terminated, or NULL with errno set */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *text = f ? malloc(CONFIG_MAX_BYTES + 1) : NULL;
	int err = f ? 0 : errno;

	if (text) {
		errno = 0;
		*len = fread(text, 1, CONFIG_MAX_BYTES + 1, f);
		err = ferror(f) ? (errno ? errno : EIO) : *len > CONFIG_MAX_BYTES ? EFBIG : 0;
	} else if (f) {
		err = ENOMEM;
	}
	if (f)
		fclose(f);
	if (err) {
		free(text);
		errno = err;
		return NULL;
	}
	text[*len] = '\0';
	return text;
}

/* the JSON object of the file into @root; returns 0 or 2 */
static int config_parse(const char *path, const char *text, size_t len, cJSON **root)
{
	const char *end = NULL, *at;
	size_t off;
	int line = 1;

	if (strlen(text) != len)
		BAD("--config: '%s' is not JSON text: it has a NUL byte at byte %zu", path, strlen(text));
	*root = cJSON_ParseWithOpts(text, &end, 1);
	if (!*root) {
		at = cJSON_GetErrorPtr();
		off = at && at >= text && at <= text + len ? (size_t)(at - text) : len;
		for (size_t i = 0; i < off; i++)
			line += text[i] == '\n';
		BAD("--config: '%s' is not valid JSON (line %d, byte %zu)", path, line, off);
	}
	if (!cJSON_IsObject(*root))
		BAD("--config: '%s' is not a JSON object (expected {\"func\": [\"handle_*\"], ...})", path);
	return 0;
}

/* apply the keys of options that apply to @env->cmd, noting them in @set; returns 0 or 2 */
static int config_apply(struct env *env, const cJSON *root, const char *path, uint64_t *set)
{
	const cJSON *item;
	uint64_t seen = 0, bit;
	char what[512];
	int rc;

	cJSON_ArrayForEach(item, root)
	{
		const struct optdef *o = options__by_key(item->string);

		if (!o)
			BAD("--config: unknown key \"%s\" in '%s' (keys are long option names, e.g. \"func\", \"listen\")",
			    item->string, path);
		bit = 1ull << (o - options);
		if (seen & bit)
			BAD("--config: \"%s\" is given twice in '%s'", o->name, path);
		seen |= bit;
		if (o->cmds != C_FILE_ONLY && !(o->cmds & (1u << env->cmd)))
			continue; /* a file shared by several commands */
		snprintf(what, sizeof(what), "--config %s: \"%s\"", path, item->string);
		if ((rc = config_item(env, o, item, what)))
			return rc;
		*set |= bit;
	}
	return 0;
}

/* a --config file's text; returns 0 or 2 */
int config__text(struct env *env, const char *path, const char *text, size_t len, uint64_t *set)
{
	cJSON *root = NULL;
	int rc = config_parse(path, text, len, &root);

	if (!rc)
		rc = config_apply(env, root, path, set);
	cJSON_Delete(root);
	return rc;
}

/* the --config file; returns 0, 1 (cannot read it) or 2 (not a valid options file) */
int config__load(struct env *env, const char *path, uint64_t *set)
{
	size_t len = 0;
	char *text = read_file(path, &len);
	int rc;

	if (!text) {
		elog("--config: cannot read '%s': %s", path,
		     errno == EFBIG ? "larger than 1 MiB (is it the right file?)" : strerror(errno));
		return 1;
	}
	rc = config__text(env, path, text, len, set);
	free(text);
	return rc;
}
