@echo off
rem Task sequence variables written by Prestart. CALL this file with delayed expansion off.
chcp 65001 >nul 2>&1
set "OSDComputerName=LAB-0042"
set "XApplications01=Microsoft 365 Apps for enterprise"
set "XApplications02=7-Zip 24.08"
set "PrestartDeployment=Windows 11 24H2 – Lab"
set "Tricky=say "hi" & 100%% ^caret! <a|b> ]]> end"
