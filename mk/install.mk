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
	$(Q)install -d $(INSTALL_DIR)/gen/lg $(INSTALL_DIR)/templates $(INSTALL_BIN)
	$(Q)install -m 755 gen/lenetgen $(INSTALL_DIR)/gen/lenetgen
	$(Q)install -m 644 gen/lg/*.lua $(INSTALL_DIR)/gen/lg/
	$(Q)install -m 644 templates/* $(INSTALL_DIR)/templates/
	$(Q)ln -sfn ../share/lenetgen/gen/lenetgen $(INSTALL_BIN)/lenetgen
	$(if $(Q),@echo "  INSTALL $(INSTALL_BIN)/lenetgen -> $(INSTALL_DIR)")

uninstall:
	$(Q)rm -f $(INSTALL_BIN)/lenetgen
	$(Q)rm -rf $(INSTALL_DIR)

test-install: deps
	$(Q)$(LUA) tests/install/test_install.lua
