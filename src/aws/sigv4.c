/* placeholder */ typedef int cr_placeholder_sigv4;
