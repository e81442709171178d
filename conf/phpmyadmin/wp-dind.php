<?php
// phpMyAdmin in wp-dind (included by Debian's /etc/phpmyadmin/config.inc.php from conf.d/).
// Each instance's database listens on its own network (172.20.N.2:3306, see the instance's
// .instance-info): log in by typing that address as the server.
$cfg['AllowArbitraryServer'] = true;
$cfg['LoginCookieValidity'] = 28800;
// Slot 1 is the free login; wpinit's wp-dind-instances.php adds one entry per instance after it.
$cfg['Servers'][1]['verbose'] = 'any address (type it in Server)';
$cfg['Servers'][1]['host'] = '';
$cfg['Servers'][1]['auth_type'] = 'cookie';
$cfg['Servers'][1]['AllowNoPassword'] = false;
$cfg['VersionCheck'] = false;
$cfg['SendErrorReports'] = 'never';
