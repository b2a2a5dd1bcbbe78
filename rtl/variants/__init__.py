"""The RTL bindings of the PE variants (registered in :mod:`rtl.config`), one module per datapath family."""

from rtl.variants import mac, block  # noqa: F401, I001  (registers the bindings, MAC family first)
