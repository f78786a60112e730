/* placeholder */ typedef int cr_placeholder_ddb_av;
