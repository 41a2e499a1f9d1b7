LISTEN {wakeup_channel_ident};
LISTEN {cancel_channel_ident}
