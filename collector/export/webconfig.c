/* webconfig.c -- the --web-config file and its PEM files loaded (parser: webconfig_parse.c), the deprecated options, checks */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/basicauth.h"
#include "export/webconfig.h"
#include "export/webconfig_parse.h"

void webconfig__free(struct webconfig *wc)
{
	if (!wc)
		return;
	basicauth__free(wc->auth);
	for (int i = 0; i < wc->nheaders; i++) {
		free(wc->headers[i].name);
		free(wc->headers[i].value);
	}
	if (wc->key_pem)
		explicit_bzero(wc->key_pem, strlen(wc->key_pem));
	free(wc->cert_pem);
	free(wc->key_pem);
	free(wc->ca_pem);
	free(wc->cert_file);
	free(wc->key_file);
	free(wc->ca_file);
	free(wc->source);
	free(wc);
}

/* ---- files ------------------------------------------------------------------------ */

/* the whole file, NUL-terminated, at most WEBCONFIG_MAX_BYTES; NULL with errno */
static char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *text = f ? malloc(WEBCONFIG_MAX_BYTES + 1) : NULL;
	int e = f ? 0 : errno;
	size_t n = 0;

	if (text) {
		errno = 0;
		n = fread(text, 1, WEBCONFIG_MAX_BYTES + 1, f);
		e = ferror(f) ? (errno ? errno : EIO) : n > WEBCONFIG_MAX_BYTES ? EFBIG : 0;
	} else if (f) {
		e = ENOMEM;
	}
	if (f)
		fclose(f);
	if (e) {
		free(text);
		errno = e;
		return NULL;
	}
	text[n] = '\0';
	if (len)
		*len = n;
	return text;
}

static int read_pem(const char *path, const char *what, char **out, char *err, size_t errlen)
{
	if (!path || *out)
		return 0;
	*out = read_text(path, NULL);
	if (*out)
		return 0;
	snprintf(err, errlen, "%s '%s': %s (%s)", what, path, errno == EFBIG ? "larger than 1 MiB" : strerror(errno),
		 errno == ENOENT ? "check the path; a relative one is taken from the web config file's folder"
				 : "it must be a readable PEM file");
	return 1;
}

/* the PEM texts of the files named */
static int load_files(struct webconfig *wc, char *err, size_t errlen)
{
	if (!wc->tls_on)
		return 0;
	if (read_pem(wc->cert_file, "tls_server_config.cert_file", &wc->cert_pem, err, errlen) ||
	    read_pem(wc->key_file, "tls_server_config.key_file", &wc->key_pem, err, errlen) ||
	    read_pem(wc->ca_file, "tls_server_config.client_ca_file", &wc->ca_pem, err, errlen))
		return 1;
	wc->tls.cert_pem = wc->cert_pem;
	wc->tls.key_pem = wc->key_pem;
	wc->tls.client_ca_pem = wc->ca_pem;
	return 0;
}

int webconfig__load(const char *path, struct webconfig **out, char *err, size_t errlen)
{
	char *text, *copy = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	text = read_text(path, &len);
	if (!text) {
		snprintf(err, errlen, "cannot read it: %s (%s)", errno == EFBIG ? "larger than 1 MiB" : strerror(errno),
			 errno == EFBIG ? "is it the right file?" : "give the path of a readable YAML file");
		return 1;
	}
	copy = strdup(path);
	rc = copy ? webconfig__parse(text, len, dirname(copy), out, err, errlen) : 1;
	if (!rc) {
		free((*out)->source);
		(*out)->source = NULL;
		rc = asprintf(&(*out)->source, "--web-config %s", path) < 0 ? 1 : load_files(*out, err, errlen);
		if (rc) {
			webconfig__free(*out);
			*out = NULL;
		}
	}
	free(copy);
	free(text);
	return rc;
}

/* ---- the deprecated options ------------------------------------------------------------- */

int webconfig__from_legacy(const char *auth_file, const char *tls_cert, const char *tls_key, struct webconfig **out,
			   char *err, size_t errlen)
{
	struct webconfig *wc = webconfig_parse__new(auth_file ? "--metrics-auth" : "--tls-cert/--tls-key");
	char *text = NULL, *colon, *hash = NULL;
	size_t tlen = 0;
	int rc = 1;

	*out = NULL;
	if (!wc) {
		snprintf(err, errlen, "out of memory");
		return 1;
	}
	if (auth_file) {
		if (!(text = read_text(auth_file, &tlen))) {
			snprintf(err, errlen, "--metrics-auth: cannot read '%s': %s", auth_file, strerror(errno));
			goto cleanup;
		}
		text[strcspn(text, "\r\n")] = '\0';
		colon = strchr(text, ':');
		if (!colon || colon == text || !colon[1]) {
			snprintf(err, errlen,
				 "--metrics-auth: '%s' must hold one line 'user:password' or 'token:SECRET'",
				 auth_file);
			goto cleanup;
		}
		*colon = '\0';
		hash = basicauth__hash(colon + 1);
		if (!hash || (!strcmp(text, "token") ? basicauth__set_bearer(wc->auth, hash)
						     : basicauth__add(wc->auth, text, hash))) {
			snprintf(err, errlen, "--metrics-auth: cannot hash the secret with bcrypt");
			goto cleanup;
		}
	}
	if (tls_cert) {
		wc->tls_on = true;
		if (!(wc->cert_file = strdup(tls_cert)) || !(wc->key_file = strdup(tls_key ? tls_key : ""))) {
			snprintf(err, errlen, "out of memory");
			goto cleanup;
		}
		if (read_pem(wc->cert_file, "--tls-cert", &wc->cert_pem, err, errlen) ||
		    read_pem(wc->key_file, "--tls-key", &wc->key_pem, err, errlen) || load_files(wc, err, errlen))
			goto cleanup;
	}
	rc = 0;
cleanup:
	if (text)
		explicit_bzero(text, tlen);
	free(text);
	free(hash);
	if (rc)
		webconfig__free(wc);
	else
		*out = wc;
	return rc;
}

bool webconfig__check_basic(struct webconfig *wc, const char *user, const char *password)
{
	return basicauth__check(wc->auth, user, password);
}

bool webconfig__check_bearer(struct webconfig *wc, const char *token)
{
	return basicauth__check_bearer(wc->auth, token);
}

const struct webconfig_tls *webconfig__tls(const struct webconfig *wc)
{
	return wc && wc->tls_on ? &wc->tls : NULL;
}

bool webconfig__needs_auth(const struct webconfig *wc)
{
	return wc && basicauth__any(wc->auth);
}

bool webconfig__header(const struct webconfig *wc, int i, const char **name, const char **value)
{
	if (!wc || i < 0 || i >= wc->nheaders)
		return false;
	*name = wc->headers[i].name;
	*value = wc->headers[i].value;
	return true;
}

const char *webconfig__source(const struct webconfig *wc)
{
	return wc->source;
}
