"""Where manifests come from: files, folders, URLs and the GCE metadata server,
loaded and merged into one desired set (``load``), watched and polled for changes,
checked against signatures, conflicts between files and the operator's allowances;
``source_set`` keeps each source's content in force. Imports the layers below the
engine only.
"""
