"""WMI properties that hold what a Prestart fact holds (TsGui and UI++ read them; Gather reads the same)."""

# (class, property), both folded -> the fact: the same SMBIOS field, read the same way (agent/facts/smbios.py).
WMI_FACTS = {
    ("win32_bios", "serialnumber"): "SerialNumber",
    ("win32_computersystem", "manufacturer"): "Make",
    ("win32_computersystem", "model"): "Model",
    ("win32_computersystem", "name"): "HostName",
    ("win32_computersystem", "systemskunumber"): "SystemSKU",
    ("win32_computersystemproduct", "uuid"): "UUID",
    ("win32_computersystemproduct", "name"): "Model",
    ("win32_computersystemproduct", "version"): "SystemVersion",
    ("win32_baseboard", "product"): "Product",
    ("win32_systemenclosure", "smbiosassettag"): "AssetTag",
    ("win32_processor", "maxclockspeed"): "ProcessorSpeed",
}
