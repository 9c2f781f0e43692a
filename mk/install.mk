# Installation: a `lenetgen` command that works from any directory and through symlinks.
#   make install   [PREFIX=/usr/local] [DESTDIR=]   copies gen/ and templates/ to
#                  PREFIX/share/lenetgen and links PREFIX/bin/lenetgen to its entry script
#   make uninstall [PREFIX=/usr/local] [DESTDIR=]   removes exactly what install wrote
#   make test-install   installs into a temporary prefix, runs the installed command from
#                  another directory, directly and through PATH, and uninstalls again

PREFIX      ?= /usr/local
INSTALL_DIR  = $(DESTDIR)$(PREFIX)/share/lenetgen
INSTALL_BIN  = $(DESTDIR)$(PREFIX)/bin

.PHONY: install uninstall test-install
TEST_TARGETS += test-install

install: deps
	$(Q)install -d $(INSTALL_BIN)
	$(Q)for f in $$(find gen/lg templates -type f | sort); do install -D -m 644 "$$f" "$(INSTALL_DIR)/$$f"; done
	$(Q)install -D -m 755 gen/lenetgen $(INSTALL_DIR)/gen/lenetgen
	$(Q)ln -sfn ../share/lenetgen/gen/lenetgen $(INSTALL_BIN)/lenetgen
	$(Q)install -D -m 755 gen/lenetgen-import $(INSTALL_DIR)/gen/lenetgen-import
	$(Q)install -D -m 644 gen/lenetgen_import.py $(INSTALL_DIR)/gen/lenetgen_import.py
	$(Q)ln -sfn ../share/lenetgen/gen/lenetgen-import $(INSTALL_BIN)/lenetgen-import
	$(if $(Q),@echo "  INSTALL $(INSTALL_BIN)/lenetgen -> $(INSTALL_DIR)")

uninstall:
	$(Q)rm -f $(INSTALL_BIN)/lenetgen
	$(Q)rm -f $(INSTALL_BIN)/lenetgen-import
	$(Q)rm -rf $(INSTALL_DIR)

test-install: deps
	$(Q)$(LUA) tests/install/test_install.lua
