// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "dataplane.h"
#include "flowmem.h"
#include "log.h"
#include "metrics.h"

void nfo_config_defaults(struct nfo_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = NFO_MODE_AUTO;
	c->mark = NFO_DEFAULT_MARK;
	c->log_group = NFO_DEFAULT_LOG_GROUP;
	c->idle_timeout = NFO_DEFAULT_IDLE;
	c->ct_timeout = NFO_DEFAULT_CT_TIMEOUT;
	c->flows = NFO_DEFAULT_FLOWS;
	c->event_buffer = NFO_DEFAULT_EVENT_BUFFER;
	c->metrics_interval = NFO_DEFAULT_METRICS_INTERVAL;
	snprintf(c->pin_dir, sizeof(c->pin_dir), "%s", NFO_DEFAULT_PIN_DIR);
}

void nfo_config_free(struct nfo_config *c)
{
	int i;

	for (i = 0; i < c->nselectors; i++)
		free(c->selectors[i]);
	c->nselectors = 0;
}

bool nfo_config_netdev_allowed(const struct nfo_config *c, const char *dev)
{
	int i;

	for (i = 0; i < c->nallow_netdev; i++)
		if (!strcmp(c->allow_netdev[i], dev) || !strcmp(c->allow_netdev[i], "all"))
			return true;
	return false;
}

int nfo_parse_u64(const char *s, uint64_t *v)
{
	unsigned long long n, mult = 1;
	char *end;

	/* Digits first: strtoull would take blanks, '+' and '-' (negated). */
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 0);
	if (errno)
		return -ERANGE;
	switch (*end) {
	case 'k':
	case 'K':
		mult = 1024, end++;
		break;
	case 'M':
		mult = 1024 * 1024, end++;
		break;
	case 'G':
		mult = 1024ULL * 1024 * 1024, end++;
		break;
	}
	if (*end)
		return -EINVAL;
	if (n > UINT64_MAX / mult)
		return -ERANGE;
	*v = n * mult;
	return 0;
}

int nfo_parse_duration(const char *s, uint32_t *seconds)
{
	char *end;
	unsigned long n;

	unsigned long mult = 1;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (!strcmp(end, "m"))
		mult = 60;
	else if (!strcmp(end, "h"))
		mult = 3600;
	else if (*end && strcmp(end, "s"))
		return -EINVAL;
	/* Checked before multiplying: 1147797409030816545h must not wrap to 16 s. */
	if (n > UINT32_MAX / mult)
		return -ERANGE;
	*seconds = n * mult;
	return 0;
}

static int parse_bool(const char *s, bool *b)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "on"))
		*b = true;
	else if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "off"))
		*b = false;
	else
		return -EINVAL;
	return 0;
}

/* "eth0", "eth0:xdp": append to the device list. */
static int add_device(struct nfo_config *c, const char *spec, char *err, size_t errlen)
{
	char name[64], *colon;
	enum nfo_mode m = NFO_MODE_AUTO;
	int i;

	if (strlen(spec) >= sizeof(name)) {
		snprintf(err, errlen, "invalid device name '%s' (at most %d characters)", spec,
			 IFNAMSIZ - 1);
		return -EINVAL;
	}
	snprintf(name, sizeof(name), "%s", spec);
	colon = strchr(name, ':');
	if (colon) {
		*colon = '\0';
		if (nfo_mode_parse(colon + 1, &m)) {
			snprintf(err, errlen, "unknown mode '%s' for device %s (auto, tc, xdp, "
					      "xdp-generic)", colon + 1, name);
			return -EINVAL;
		}
	}
	if (!*name || strlen(name) >= IFNAMSIZ || strpbrk(name, " \t/\"'")) {
		snprintf(err, errlen, "invalid device name '%s'", name);
		return -EINVAL;
	}
	if (!strcmp(name, "lo")) {
		snprintf(err, errlen, "lo is the loopback device; it cannot be an offload device");
		return -EINVAL;
	}
	for (i = 0; i < c->ndevices; i++)
		if (!strcmp(c->devices[i], name)) {
			snprintf(err, errlen, "device %s is listed twice", name);
			return -EINVAL;
		}
	if (c->ndevices == NFO_MAX_DEVICES) {
		snprintf(err, errlen, "too many devices (at most %d)", NFO_MAX_DEVICES);
		return -EINVAL;
	}
	snprintf(c->devices[c->ndevices], IFNAMSIZ, "%s", name);
	c->dev_mode[c->ndevices++] = m;
	return 0;
}

int nfo_config_set(struct nfo_config *c, const char *key, const char *value, char *err,
		   size_t errlen)
{
	uint64_t u;
	uint32_t s;

	if (!strcmp(key, "devices") || !strcmp(key, "device")) {
		char *buf = strdup(value), *tok, *save;
		int rc = 0;

		if (!buf) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		for (tok = strtok_r(buf, " \t,", &save); tok && !rc;
		     tok = strtok_r(NULL, " \t,", &save))
			rc = add_device(c, tok, err, errlen);
		free(buf);
		if (rc)
			return -EINVAL;
	} else if (!strcmp(key, "mode")) {
		if (nfo_mode_parse(value, &c->mode)) {
			snprintf(err, errlen, "mode must be auto, tc, xdp or xdp-generic, not '%s'",
				 value);
			return -EINVAL;
		}
	} else if (!strcmp(key, "select")) {
		if (!*value || strchr(value, ';') || strchr(value, '{') || strchr(value, '}')) {
			snprintf(err, errlen, "select must be one nft match expression, got '%s'",
				 value);
			return -EINVAL;
		}
		if (c->nselectors == NFO_MAX_SELECTORS) {
			snprintf(err, errlen, "too many selectors (at most %d)", NFO_MAX_SELECTORS);
			return -EINVAL;
		}
		c->selectors[c->nselectors] = strdup(value);
		if (!c->selectors[c->nselectors]) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		c->nselectors++;
	} else if (!strcmp(key, "mark")) {
		if (nfo_parse_u64(value, &u) || u > UINT32_MAX || __builtin_popcountll(u) != 2) {
			snprintf(err, errlen, "mark must be two bits of the 32-bit ct mark, the "
					      "higher one for the original direction and the "
					      "lower one for the reply (e.g. 0xc0000000), not '%s'",
				 value);
			return -EINVAL;
		}
		c->mark = u;
	} else if (!strcmp(key, "log-group")) {
		if (nfo_parse_u64(value, &u) || u > UINT16_MAX) {
			snprintf(err, errlen, "log-group must be an nflog group 0 to 65535, not '%s'",
				 value);
			return -EINVAL;
		}
		c->log_group = u;
	} else if (!strcmp(key, "idle-timeout")) {
		if (nfo_parse_duration(value, &s) || !s || s > 86400) {
			/* Also when the number overflows: one sentence, never a wrap. */
			snprintf(err, errlen, "idle-timeout must be 1s to 24h, not '%s'", value);
			return -EINVAL;
		}
		c->idle_timeout = s;
	} else if (!strcmp(key, "ct-timeout")) {
		if (nfo_parse_duration(value, &s) || s < 60) {
			snprintf(err, errlen, "ct-timeout must be at least 60s, not '%s'", value);
			return -EINVAL;
		}
		c->ct_timeout = s;
	} else if (!strcmp(key, "flows")) {
		if (nfo_parse_u64(value, &u) || u < 16 || u > NFO_MAX_FLOWS) {
			char mem[32];

			snprintf(err, errlen, "flows must be between 16 and 64M (the kernel's limit for "
					      "its hash maps; 64M reserves %s of kernel memory up "
					      "front), not '%s'",
				 nfo_bytes_str(nfo_flows_reserved_bytes(NFO_MAX_FLOWS), mem,
					       sizeof(mem)),
				 value);
			return -EINVAL;
		}
		c->flows = u;
	} else if (!strcmp(key, "pin-dir")) {
		if (value[0] != '/') {
			snprintf(err, errlen, "pin-dir must be an absolute path, not '%s'", value);
			return -EINVAL;
		}
		if (strlen(value) >= sizeof(c->pin_dir) - 32) {
			snprintf(err, errlen, "pin-dir is too long (at most %zu characters)",
				 sizeof(c->pin_dir) - 33);
			return -EINVAL;
		}
		snprintf(c->pin_dir, sizeof(c->pin_dir), "%s", value);
	} else if (!strcmp(key, "on-exit")) {
		if (!strcmp(value, "stop"))
			c->keep_on_exit = false;
		else if (!strcmp(value, "keep"))
			c->keep_on_exit = true;
		else {
			snprintf(err, errlen, "on-exit must be 'stop' or 'keep', not '%s'", value);
			return -EINVAL;
		}
	} else if (!strcmp(key, "force")) {
		if (parse_bool(value, &c->force)) {
			snprintf(err, errlen, "force must be yes or no, not '%s'", value);
			return -EINVAL;
		}
	} else if (!strcmp(key, "trust-netlink-marks")) {
		if (parse_bool(value, &c->trust_netlink_marks)) {
			snprintf(err, errlen, "trust-netlink-marks must be yes or no, not '%s'", value);
			return -EINVAL;
		}
	} else if (!strcmp(key, "event-buffer")) {
		if (nfo_parse_u64(value, &u) || u < 4096 || u > (1U << 30)) {
			snprintf(err, errlen, "event-buffer must be 4k to 1G, not '%s'", value);
			return -EINVAL;
		}
		c->event_buffer = u;
	} else if (!strcmp(key, "allow-netdev-chains")) {
		char buf[1024], *tok, *save;

		snprintf(buf, sizeof(buf), "%s", value);
		for (tok = strtok_r(buf, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
			if (strlen(tok) >= IFNAMSIZ || c->nallow_netdev == NFO_MAX_DEVICES) {
				snprintf(err, errlen, "allow-netdev-chains: invalid device name '%s'",
					 tok);
				return -EINVAL;
			}
			snprintf(c->allow_netdev[c->nallow_netdev++], IFNAMSIZ, "%s", tok);
		}
	} else if (!strncmp(key, "metrics-", 8)) {
		int r = nfo_metrics_config_set(c, key, value, err, errlen);

		if (r == -ENOENT)
			snprintf(err, errlen, "unknown setting '%s'", key);
		return r;
	} else {
		snprintf(err, errlen, "unknown setting '%s'", key);
		return -ENOENT;
	}
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int nfo_config_load(struct nfo_config *c, const char *path)
{
	char *line = NULL, err[512];
	int lineno = 0, rc = 0;
	size_t cap = 0;
	struct stat st;
	ssize_t len;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		pr_err("cannot read config file %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		pr_err("config file %s is not a regular file", path);
		fclose(f);
		return -EINVAL;
	}
	if (strlen(path) >= sizeof(c->source)) {
		pr_err("config file name %s is too long (at most %zu characters)", path,
		       sizeof(c->source) - 1);
		fclose(f);
		return -EINVAL;
	}
	snprintf(c->source, sizeof(c->source), "%s", path);
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *p, *eq, *key, *val, *hash;

		lineno++;
		if ((size_t)len != strlen(line)) {
			pr_err("%s:%d: contains a NUL byte", path, lineno);
			rc = -EINVAL;
			break;
		}
		/* Comments: '#' at the start or after blank space. */
		for (hash = line; (hash = strchr(hash, '#')); hash++)
			if (hash == line || isspace((unsigned char)hash[-1])) {
				*hash = '\0';
				break;
			}
		p = trim(line);
		if (!*p)
			continue;
		eq = strchr(p, '=');
		if (!eq) {
			pr_err("%s:%d: expected 'key = value', got '%s'", path, lineno, p);
			rc = -EINVAL;
			break;
		}
		*eq = '\0';
		key = trim(p);
		val = trim(eq + 1);
		if (nfo_config_set(c, key, val, err, sizeof(err))) {
			pr_err("%s:%d: %s", path, lineno, err);
			rc = -EINVAL;
			break;
		}
	}
	if (!rc && ferror(f)) {
		pr_err("cannot read config file %s: %s", path, strerror(errno));
		rc = -EIO;
	}
	free(line);
	fclose(f);
	return rc;
}

int nfo_config_validate(const struct nfo_config *c, char *err, size_t errlen)
{
	if (c->ndevices < 2) {
		snprintf(err, errlen, "need at least two devices to offload between (--device, "
				      "or 'devices =' in %s)",
			 c->source[0] ? c->source : NFO_CONFIG_FILE);
		return -EINVAL;
	}
	if (c->ct_timeout <= c->idle_timeout) {
		snprintf(err, errlen, "ct-timeout (%us) must be longer than idle-timeout (%us)",
			 c->ct_timeout, c->idle_timeout);
		return -EINVAL;
	}
	return 0;
}
