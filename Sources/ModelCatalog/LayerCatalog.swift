// ModelCatalog: layers of a checkpoint, model family detection, U-Net block grammar and name suggestions.
