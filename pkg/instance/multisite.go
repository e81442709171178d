package instance

import "github.com/wp-dind/wp-dind/pkg/config"

// A subdirectory network serves each site under /SITE/ from the one WordPress tree: the web
// server maps /SITE/wp-admin/..., /SITE/wp-includes/..., /SITE/wp-content/... and
// /SITE/FILE.php to the tree's own files, as WordPress's documented rules do; REQUEST_URI
// keeps /SITE/, which is how WordPress tells the sites apart. A subdomain network needs no
// rules (every host name reaches the one server block); its host names are the router's.

// nginxMultisite is the server block's rules for in's network, "" for a single site.
// Redirects are relative (absolute_redirect off): nginx listens on 80 inside its container,
// while the site is http://localhost:PORT.
func nginxMultisite(in *config.Instance) string {
	if in.Multisite != config.MultisiteSubdirectory {
		return ""
	}
	return `
    # Multisite (subdirectory): a site's /SITE/wp-* and /SITE/*.php are the network's own files.
    absolute_redirect off;
    if (!-e $request_filename) {
        rewrite ^(/[^/]+)?/wp-admin$ $1/wp-admin/ permanent;
        rewrite ^(/[^/]+)?(/wp-.*) $2 last;
        rewrite ^(/[^/]+)?(/.*\.php) $2 last;
    }
`
}

// apacheMultisite is the VirtualHost's rules for in's network, "" for a single site. WordPress
// writes no .htaccess for a network, so the front controller is here too.
func apacheMultisite(in *config.Instance) string {
	if in.Multisite == config.MultisiteNone {
		return ""
	}
	rules := `
    # Multisite: WordPress writes no .htaccess for a network; its rules are here.
    RewriteEngine On
    RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
`
	if in.Multisite == config.MultisiteSubdirectory {
		rules += `    RewriteRule ^/([_0-9a-zA-Z-]+/)?wp-admin$ /$1wp-admin/ [R=301,L]
    RewriteCond %{DOCUMENT_ROOT}%{REQUEST_URI} !-f
    RewriteCond %{DOCUMENT_ROOT}%{REQUEST_URI} !-d
    RewriteRule ^/([_0-9a-zA-Z-]+/)?(wp-(content|admin|includes).*) /$2 [L]
    RewriteCond %{DOCUMENT_ROOT}%{REQUEST_URI} !-f
    RewriteCond %{DOCUMENT_ROOT}%{REQUEST_URI} !-d
    RewriteRule ^/([_0-9a-zA-Z-]+/)?(.*\.php)$ /$2 [L]
`
	}
	return rules + `    RewriteCond %{DOCUMENT_ROOT}%{REQUEST_URI} !-f
    RewriteCond %{DOCUMENT_ROOT}%{REQUEST_URI} !-d
    RewriteRule ^ /index.php [L]
`
}
