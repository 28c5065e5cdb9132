"""Boot-engine hooks: one module per engine, each a runtime adapter and the glue the builder injects."""
