/* placeholder */ typedef int cr_placeholder_creds;
