"""The properties MDT's Gather reads from rules files (ZTIGather.xml of MDT 8456), in its order."""

# ZTIGather.wsf reads a section's keys only for these properties (plus those `Properties=` declares), in this
# order: the order decides what `%NAME%` sees, since a value is expanded when its property is read.
# Names only, as MDT 6.3.8456 ships them; the descriptions stay with Microsoft.
PROPERTIES: tuple[str, ...] = (
    "DeployRoot", "ResourceRoot", "DeployDrive", "ResourceDrive", "DeploymentMethod", "DeploymentType",
    "Phase", "DestinationDisk", "DestinationPartition", "UserID", "UserDomain", "UserPassword", "UDShare",
    "UDDir", "UDProfiles", "SLShare", "SLShareDynamicLogging", "EventShare", "EventService", "OSInstall",
    "ComputerName", "OSDComputerName", "Home_Page", "JoinDomain", "JoinWorkgroup", "DomainAdmin",
    "DomainAdminDomain", "DomainAdminPassword", "MachineObjectOU", "OSDINSTALLSILENT", "OSDINSTALLPACKAGE",
    "OSDINSTALLPROGRAM", "OSDNEWMACHINENAME", "ScanStateArgs", "OSDMigrateAdditionalCaptureOptions",
    "LoadStateArgs", "OSDMigrateAdditionalRestoreOptions", "ComputerBackupLocation", "BackupShare",
    "BackupDir", "BackupDrive", "UserDataLocation", "DoCapture", "ProductKey", "OverrideProductKey",
    "WDSServer", "CaptureGroups", "AdminPassword", "OrgName", "FullName", "TimeZone", "TimeZoneName",
    "TaskSequenceID", "BuildID", "KeyboardLocale", "KeyboardLocalePE", "InputLocale", "SystemLocale",
    "UserLocale", "UILanguage", "Xresolution", "Yresolution", "BitsPerPel", "Vrefresh", "AreaCode",
    "CountryCode", "LongDistanceAccess", "Dialing", "OSDBitLockerMode", "BdeInstallSuppress", "BdeInstall",
    "OSDBitLockerTargetDrive", "OSDBitLockerStartupKeyDrive", "BdeKeyLocation",
    "OSDBitLockerCreateRecoveryPassword", "BdeRecoveryKey", "OSDBitLockerWaitForEncryption",
    "BdeWaitForEncryption", "BdeDriveLetter", "BdeDriveSize", "BdePin", "BdeDisablePreProvisioning",
    "BdeAllowAlphaNumericPin", "BDEPinMinLength", "TpmOwnerPassword", "OSDBitLockerRecoveryPassword",
    "OSDBitLockerStartupKey", "OSDMP", "OSDSITECODE", "ServerA", "ServerB", "ServerC", "USMTConfigFile",
    "WipeDisk", "_SMSTSORGNAME", "WsusServer", "USMT3", "USMT4", "DriverSelectionProfile",
    "PackageSelectionProfile", "WizardSelectionProfile", "CustomDriverSelectionProfile",
    "CustomPackageSelectionProfile", "CustomWizardSelectionProfile", "SkipGroupSubFolders",
    "SysPrepDriverSelectionProfile", "AutoMode", "AutoUsers", "ApplicationSuccessCodes", "BackupFile",
    "DoNotCreateExtraPartition", "OSDDiskpartBiosCompatibilityMode", "ForceApplyFallback", "OSDDiskAlign",
    "FinishAction", "SMSTSRunCommandLineUserName", "SMSTSRunCommandLineUserPassword",
    "SMSTSPreferredAdvertID", "SMSTSUDAUsers", "SMSTSAssignUsersMode", "OSDStateStorePath",
    "_SMSTSPackageName", "HideShell", "DisableTaskMgr", "PrepareWinRE", "ApplyGPOPack", "GPOPackPath",
    "ValidateDomainCredentialsUNC", "VSSMaxSize", "DestinationOSInstallType", "DestinationOSVariable",
    "SkipRearm", "WindowsSource", "DoNotFormatAndPartition", "USMTOfflineMigration",
    "WindowsUpgradeAdditionalOptions", "DynamicallyUpdateWinSetup", "SkipWizard", "SkipCapture",
    "SkipAdminPassword", "SkipApplications", "SkipComputerBackup", "SkipDomainMembership",
    "SkipComputerName", "SkipDeploymentType", "SkipUserData", "SkipPackageDisplay", "SkipLocaleSelection",
    "SkipProductKey", "SkipSummary", "SkipFinalSummary", "SkipBDDWelcome", "SkipTimeZone",
    "SkipTaskSequence", "SkipBuild", "SkipBitLocker", "SkipBitLockerDetails", "SkipAdminAccounts",
    "SkipRoles", "OSDDomainName", "OSDDomainOUName", "OSDWorkgroupName", "OSDJoinAccount",
    "OSDJoinPassword", "OSDLocalAdminPassword", "OSDAddAdmin", "OSDTimeZone", "OSDArchitecture",
    "OSDImageIndex", "OSDTargetDrive", "OSDWinPEWinDir", "OSDDiskPart", "OSDApplicationList", "UDILocale",
    "OSDAdapterCount", "OSDAdapter0Name", "OSDAdapter0MacAddress", "OSDAdapter0EnableDHCP",
    "OSDAdapter0IPAddressList", "OSDAdapter0SubnetMask", "OSDAdapter0Gateways",
    "OSDAdapter0GatewayCostMetric", "OSDAdapter0DNSServerList", "OSDAdapter0DNSSuffix",
    "OSDAdapter0EnableDNSRegistration", "OSDAdapter0EnableFullDNSRegistration", "OSDAdapter0EnableLMHOSTS",
    "OSDAdapter0EnableWINS", "OSDAdapter0TcpipNetbiosOptions", "OSDAdapter0WINSServerList",
    "OSDAdapter0EnableTCPIPFiltering", "OSDAdapter0TCPFilterPortList", "OSDAdapter0UDPFilterPortList",
    "OSDAdapter0IPProtocolFilterList", "OSDDiskIndex", "OSDPartitions", "OSDPartitions0TYPE",
    "OSDPartitions0FILESYSTEM", "OSDPartitions0BOOTABLE", "OSDPartitions0QUICKFORMAT",
    "OSDPartitions0VOLUMENAME", "OSDPartitions0SIZE", "OSDPartitions0SIZEUNITS",
    "OSDPartitions0VOLUMELETTERVARIABLE", "OSDPartitions1TYPE", "OSDPartitions1FILESYSTEM",
    "OSDPartitions1BOOTABLE", "OSDPartitions1QUICKFORMAT", "OSDPartitions1VOLUMENAME", "OSDPartitions1SIZE",
    "OSDPartitions1SIZEUNITS", "OSDPartitions1VOLUMELETTERVARIABLE", "OSRoles", "OSRoleServices",
    "OSFeatures", "UninstallOSRoles", "UninstallOSRoleServices", "UninstallOSFeatures", "OptionalOSRoles",
    "OptionalOSRoleServices", "OptionalOSFeatures", "ReplicaOrNewDomain", "NewDomain", "NewDomainDNSName",
    "ParentDomainDNSName", "ReplicaDomainDNSName", "ChildName", "DomainNetBiosName", "ForestLevel",
    "DomainLevel", "AutoConfigDNS", "ConfirmGC", "CriticalReplicationOnly", "ADDSUserName",
    "ADDSUserDomain", "ADDSPassword", "ReplicationSourceDC", "DatabasePath", "ADDSLogPath", "SysVolPath",
    "SafeModeAdminPassword", "SiteName", "DHCPServerOptionRouter", "DHCPServerOptionDNSServer",
    "DHCPServerOptionWINSServer", "DHCPServerOptionDNSDomainName", "DHCPServerOptionNBTNodeType",
    "DHCPServerOptionPXEClient", "DHCPScopes", "DHCPScopes0SubnetMask", "DHCPScopes0IP", "DHCPScopes0Name",
    "DHCPScopes0Description", "DHCPScopes0StartIP", "DHCPScopes0EndIP", "DHCPScopes0ExcludeStartIP",
    "DHCPScopes0ExcludeEndIP", "DHCPScopes0OptionRouter", "DHCPScopes0OptionDNSServer",
    "DHCPScopes0OptionWINSServer", "DHCPScopes0OptionDNSDomainName", "DHCPScopes0OptionNBTNodeType",
    "DHCPScopes0OptionLease", "DHCPScopes0OptionPXEClient", "DNSZones", "DNSZones0Name", "DNSZones0Type",
    "DNSZones0MasterIP", "DNSZones0DirectoryPartition", "DNSZones0FileName", "DNSZones0Scavenge",
    "DNSZones0Update", "DNSServerOptionDisableRecursion", "DNSServerOptionBINDSecondaries",
    "DNSServerOptionFailOnLoad", "DNSServerOptionEnableRoundRobin", "DNSServerOptionEnableNetmaskOrdering",
    "DNSServerOptionEnableSecureCache", "DNSServerOptionNameCheckFlag", "WINSPartners", "WINSPartners0Name",
    "WINSPartners0Type", "WINSPartners0IP", "OSDInstallEditionIndex", "ConfigFileName", "OSDAnswerFilePath",
    "OSDImageCreator", "OSDInstallType", "OSDTargetSystemDrive", "OSDTargetSystemRoot", "OSDisk",
    "OSVersionNumber", "OSArchitecture", "ImagePackageID", "InstallPackageID", "OSDImagePackageID",
    "ConfigFilePackage", "Packages", "Applications", "MandatoryApplications", "Administrators",
    "PowerUsers", "DriverPaths", "DriverGroup", "StorageDriverGroup", "StorageDriverSysPrepGroup",
    "DomainOUs", "USMTMigFiles", "Groups", "LanguagePacks", "PackageGroup", "Role", "Location",
    "WUMU_ExcludeKB", "WUMU_ExcludeID",
)

# List properties: NAME001, NAME002, ... (or NAME1, NAME2, ...), read until the first gap, values kept once.
LISTS: frozenset[str] = frozenset(
    n.casefold()
    for n in (
        "Packages", "Applications", "MandatoryApplications", "Administrators", "PowerUsers", "DriverPaths",
        "DriverGroup", "StorageDriverGroup", "StorageDriverSysPrepGroup", "DomainOUs", "USMTMigFiles", "Groups",
        "LanguagePacks", "PackageGroup", "Role", "Location", "WUMU_ExcludeKB", "WUMU_ExcludeID",
    )
)

# Properties whose last value wins; every other property keeps the first value found.
OVERWRITE: frozenset[str] = frozenset(
    n.casefold()
    for n in (
        "DeployRoot", "ResourceRoot", "DeployDrive", "ResourceDrive", "DeploymentMethod", "DeploymentType",
        "Phase", "DestinationDisk", "DestinationPartition", "DestinationOSInstallType", "DestinationOSVariable",
    )
)
