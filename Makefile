# Install cloudspool on a collector host:  make install PREFIX=/usr/local
# Remove it (config and spool are kept):   make uninstall
# The test suite:                          make test   (same as bash scripts/test.sh)

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
CONFDIR   ?= /etc/cloudspool
CRONDIR   ?= /etc/cron.d
SPOOL     ?= /var/spool/cloudspool
LOGDIR    ?= /var/log/cloudspool
CLOUDSPOOL_USER ?= cloudspool
BINARIES  := cloudspool-fetch cloudspool-transform cloudspool-load cloudspool-audit

SHAREDIR  ?= $(PREFIX)/share/cloudspool

.PHONY: build install uninstall test dashboards

build:
	swift build -c release

install: build
	id -u $(CLOUDSPOOL_USER) >/dev/null 2>&1 || useradd --system --home-dir $(SPOOL) --shell /usr/sbin/nologin $(CLOUDSPOOL_USER)
	install -d -m 0755 $(BINDIR)
	for b in $(BINARIES); do install -m 0755 .build/release/$$b $(BINDIR)/$$b; done
	install -d -m 0750 -o root -g $(CLOUDSPOOL_USER) $(CONFDIR)
	test -e $(CONFDIR)/cloudspool.yaml || install -m 0640 -o root -g $(CLOUDSPOOL_USER) cloudspool.example.yaml $(CONFDIR)/cloudspool.yaml
	install -m 0644 cloudspool.example.yaml $(CONFDIR)/cloudspool.example.yaml
	install -m 0644 iam-policy.json $(CONFDIR)/iam-policy.json
	install -d -m 0755 $(SHAREDIR)
	install -m 0644 dashboards/cloudspool-dashboards.ndjson $(SHAREDIR)/cloudspool-dashboards.ndjson
	install -d -m 0750 -o $(CLOUDSPOOL_USER) -g $(CLOUDSPOOL_USER) $(SPOOL) $(LOGDIR)
	sed 's|/usr/local/bin|$(BINDIR)|; s|^CLOUDSPOOL_CONFIG=.*|CLOUDSPOOL_CONFIG=$(CONFDIR)/cloudspool.yaml|' cron.d/cloudspool > $(CRONDIR)/cloudspool
	chmod 0644 $(CRONDIR)/cloudspool
	@echo "installed: edit $(CONFDIR)/cloudspool.yaml, then watch $(LOGDIR)/*.log"

uninstall:
	rm -f $(CRONDIR)/cloudspool
	for b in $(BINARIES); do rm -f $(BINDIR)/$$b; done
	rm -f $(CONFDIR)/cloudspool.example.yaml $(CONFDIR)/iam-policy.json
	rm -rf $(SHAREDIR)
	@echo "removed the programs and the cron file; kept $(CONFDIR)/cloudspool.yaml, $(SPOOL) and $(LOGDIR) (remove them by hand if you mean to)"

test:
	bash scripts/test.sh

# Import the dashboards into Kibana / OpenSearch Dashboards:  make dashboards URL=https://host:5601 [SPACE=name]
dashboards: build
	.build/release/cloudspool-load --install-dashboards --dashboards-file dashboards/cloudspool-dashboards.ndjson \
		$(if $(URL),--dashboards-url $(URL)) $(if $(SPACE),--space $(SPACE)) $(if $(CONFIG),--config $(CONFIG))
